//go:build desktop

// Command causeway-desktop is the Causeway desktop app: the studio's UI in
// a native window (Wails v2), connected to a remote studio or running one
// locally. The logic lives in desktop/; this file only binds it to
// the window, the menu and the process's signals.
//
// Build it with `make desktop` (tags desktop,production,webkit2_41).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/logger"
	"github.com/wailsapp/wails/v2/pkg/menu"
	"github.com/wailsapp/wails/v2/pkg/menu/keys"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/causeway-dev/causeway/desktop"
)

// version is set at build time (-ldflags "-X main.version=…").
var version = "dev"

func main() {
	opts, err := desktop.ParseArgs(os.Args[1:], os.Getenv, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "causeway-desktop:", err)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: opts.LogLevel}))
	app, err := desktop.New(opts, version, log)
	if err != nil {
		log.Error("cannot start", "error", err)
		os.Exit(1)
	}
	// Wails handles SIGINT and SIGTERM itself: it quits as if the window
	// were closed, so OnShutdown stops a local studio cleanly.
	win := &window{}
	err = wails.Run(&options.App{
		Title:            "Causeway",
		Width:            1400,
		Height:           880,
		MinWidth:         900,
		MinHeight:        600,
		BackgroundColour: &options.RGBA{R: 246, G: 247, B: 249, A: 255},
		AssetServer:      &assetserver.Options{Handler: app.AssetHandler()},
		Menu:             appMenu(app, win),
		Logger:           wailsLog{log},
		LogLevel:         logger.WARNING,
		OnStartup: func(ctx context.Context) {
			win.setContext(ctx)
			app.Start(win)
		},
		OnShutdown: func(context.Context) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := app.Close(ctx); err != nil {
				log.Error("stopping", "error", err)
			}
		},
		// Never: WebKitGTK's accelerated compositing leaves composited
		// layers (the flow map's and the causation graph's canvas)
		// unpainted where there is no GPU to do it — virtual machines,
		// remote X, Xvfb — while the rest of the page draws. The UI is DOM
		// and SVG, which the software path draws without trouble.
		Linux: &linux.Options{ProgramName: "causeway-desktop", WebviewGpuPolicy: linux.WebviewGpuPolicyNever},
	})
	if err != nil {
		log.Error("window", "error", err)
		os.Exit(1)
	}
}

// appMenu is File › Connect…, Quit; View › Reload; Help › About.
func appMenu(app *desktop.App, win *window) *menu.Menu {
	m := menu.NewMenu()
	file := m.AddSubmenu("File")
	file.AddText("Connect…", keys.CmdOrCtrl("k"), func(*menu.CallbackData) { app.Connect() })
	file.AddSeparator()
	file.AddText("Quit", keys.CmdOrCtrl("q"), func(*menu.CallbackData) {
		if ctx := win.context(); ctx != nil {
			runtime.Quit(ctx)
		}
	})
	view := m.AddSubmenu("View")
	view.AddText("Reload", keys.CmdOrCtrl("r"), func(*menu.CallbackData) { app.Reload() })
	help := m.AddSubmenu("Help")
	help.AddText("About Causeway", nil, func(*menu.CallbackData) { app.About() })
	return m
}

// window is desktop.Window over the Wails runtime.
type window struct {
	mu  sync.Mutex
	ctx context.Context
}

func (w *window) setContext(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
}

func (w *window) context() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ctx
}

func (w *window) SetTitle(title string) { runtime.WindowSetTitle(w.context(), title) }

// Navigate and Reload run script in the page: the page is the gateway's
// (http://127.0.0.1:…), where Wails' own JS runtime is not loaded.
func (w *window) Navigate(url string) {
	runtime.WindowExecJS(w.context(), fmt.Sprintf("window.location.assign(%q)", url))
}

// Show brings the window back from the taskbar to the front.
func (w *window) Show() {
	runtime.WindowUnminimise(w.context())
	runtime.WindowShow(w.context())
}

func (w *window) Reload() { runtime.WindowExecJS(w.context(), "window.location.reload()") }

func (w *window) Message(title, text string) {
	runtime.MessageDialog(w.context(), runtime.MessageDialogOptions{Type: runtime.InfoDialog, Title: title, Message: text})
}

// wailsLog sends Wails' own log lines to the app's log.
type wailsLog struct{ log *slog.Logger }

func (l wailsLog) Print(m string)   { l.log.Info(m, "component", "wails") }
func (l wailsLog) Trace(m string)   { l.log.Debug(m, "component", "wails") }
func (l wailsLog) Debug(m string)   { l.log.Debug(m, "component", "wails") }
func (l wailsLog) Info(m string)    { l.log.Info(m, "component", "wails") }
func (l wailsLog) Warning(m string) { l.log.Warn(m, "component", "wails") }
func (l wailsLog) Error(m string)   { l.log.Error(m, "component", "wails") }
func (l wailsLog) Fatal(m string)   { l.log.Error(m, "component", "wails"); os.Exit(1) }
