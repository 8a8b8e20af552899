module github.com/causeway-dev/causeway/event

go 1.26.8
