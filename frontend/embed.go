// Package frontend holds the studio's web UI (Vite + React + TypeScript,
// sources in src/) and serves its build, embedded into the causeway binary.
//
// `make frontend` writes the build to dist/. A binary built without it
// serves a placeholder page that says how to build the UI; the API works
// either way.
package frontend

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// Built reports whether the binary carries a built UI (dist/index.html).
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// Handler serves the UI: files from dist/, index.html for any other path
// that is not an API route (client-side routing), and the placeholder page
// when the UI was not built.
func Handler() http.Handler {
	if !Built() {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(placeholder))
		})
	}
	root, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist/index.html exists, so dist is a directory
	}
	files := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "" || name == "index.html" {
			serveIndex(w, r, root)
			return
		}
		if _, err := fs.Stat(root, name); err != nil {
			if strings.HasPrefix(name, "assets/") {
				http.NotFound(w, r)
				return
			}
			serveIndex(w, r, root)
			return
		}
		if strings.HasPrefix(name, "assets/") {
			// Vite puts a content hash in every asset name.
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		files.ServeHTTP(w, r)
	})
}

// serveIndex serves index.html, never cached, so a new build is picked up.
func serveIndex(w http.ResponseWriter, r *http.Request, root fs.FS) {
	b, err := fs.ReadFile(root, "index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}

const placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Causeway studio</title>
<style>body{font:16px system-ui,sans-serif;max-width:40em;margin:4em auto;color:#222}code{background:#eee;padding:2px 4px}</style>
</head><body>
<h1>Causeway studio</h1>
<p>This binary was built without the web UI. Build it with <code>make frontend</code>, then rebuild
<code>causeway</code> (<code>make build</code>), or run <code>make run</code>, which does both.</p>
<p>The API is served either way: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p>
</body></html>
`
