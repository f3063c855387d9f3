package browsertest

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Environment variables of the screenshots.
const (
	// ScreenshotsEnv names the directory of the screenshots of failed
	// tests and of Tab.Screenshot; see ScreenshotDir.
	ScreenshotsEnv = "PORTICO_SCREENSHOTS"
	// UpdateScreenshotsEnv set to "1" makes SaveScreenshot write the
	// documentation's screenshots.
	UpdateScreenshotsEnv = "PORTICO_UPDATE_SCREENSHOTS"
)

// ScreenshotDir returns the directory where Tab.Screenshot and the
// screenshots of failed tests go: $PORTICO_SCREENSHOTS, or
// portico-screenshots in os.TempDir() when it is not set. It outlives the
// test, unlike t.TempDir().
func ScreenshotDir() string {
	if d := os.Getenv(ScreenshotsEnv); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "portico-screenshots")
}

// Screenshot saves a full-page PNG of the tab as
// ScreenshotDir()/<test name>-<name>.png and returns its path.
func (tab *Tab) Screenshot(name string) string {
	tab.t.Helper()
	path := filepath.Join(ScreenshotDir(), fileName(tab.t.Name()+"-"+name)+".png")
	png := run(tab, "take a screenshot", fullPage())
	if err := writeFile(path, png); err != nil {
		tab.t.Fatalf("browsertest: %v", err)
	}
	return path
}

// SaveScreenshot writes a full-page PNG of tab to path, for the
// documentation, when the environment variable PORTICO_UPDATE_SCREENSHOTS
// is "1", and reports whether it did; otherwise it does nothing, so that a
// plain test run leaves the committed images alone.
func SaveScreenshot(t testing.TB, tab *Tab, path string) bool {
	t.Helper()
	if os.Getenv(UpdateScreenshotsEnv) != "1" {
		return false
	}
	png := run(tab, "take a screenshot", fullPage())
	if err := writeFile(path, png); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	t.Logf("browsertest: wrote %s", path)
	return true
}

// saveFailure saves the screenshot of a failed test as
// ScreenshotDir()/<test name>-<tab name>.png. It never fails the test.
func (tab *Tab) saveFailure() (string, error) {
	ctx, cancel := context.WithTimeout(tab.ctx, DefaultTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, fullPage())
	if err != nil {
		return "", err
	}
	path := filepath.Join(ScreenshotDir(), fileName(tab.t.Name()+"-"+tab.Name)+".png")
	return path, writeFile(path, png)
}

// fullPage captures the whole page as a PNG, beyond the viewport, at one
// device pixel per CSS pixel.
func fullPage() chromedp.Action[[]byte] {
	return func(ctx context.Context, tgt *chromedp.Target) ([]byte, error) {
		m, err := cdp.Call(ctx, tgt, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		clip := &page.Viewport{Width: ViewportWidth, Height: ViewportHeight, Scale: 1}
		if s := m.CSSContentSize; s != nil {
			clip.Width = math.Max(math.Ceil(s.Width), 1)
			clip.Height = math.Max(math.Ceil(s.Height), 1)
		}
		yes := true
		r, err := cdp.Call(ctx, tgt, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  clip,
			FromSurface:           &yes,
			CaptureBeyondViewport: &yes,
		})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	}
}

// writeFile writes data to path, creating its directory.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("screenshot directory: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write screenshot: %w", err)
	}
	return nil
}

// fileName makes a test name ("TestX/sub case") usable as a file name.
func fileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
