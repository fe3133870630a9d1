// Counter: the real-time stream (current-heat-<db>) replaces #current-heat; this polls
// current.json as a fallback and fetches a fresh #current-heat when the heat on the floor
// changes.  Four layouts (data-layout, styled by counter.css), switched with ←/→ and
// remembered in this browser; ?layout=1..4 chooses one.  Double-click or F: full screen.
import { Controller } from "@hotwired/stimulus"

export default class extends Controller {
  static values = {
    url: String,
    interval: { type: Number, default: 10000 },
    layout: Number, // from ?layout= (0: none asked for)
    layouts: Array,
  }

  connect() {
    this.storageKey = `showcase:counter-layout:${window.location.pathname}`
    let layout = this.layoutValue
    if (!layout) {
      try {
        layout = Number(window.localStorage.getItem(this.storageKey)) || 1
      } catch (_) {
        layout = 1
      }
    }
    this.show(layout, false)
    if (this.urlValue && this.intervalValue > 0) {
      this.timer = setInterval(() => this.poll(), this.intervalValue)
    }
  }

  show(layout, remember) {
    const count = this.layoutsValue.length || 1
    this.current = ((layout - 1 + count) % count) + 1
    this.element.dataset.layout = this.layoutsValue[this.current - 1] || String(this.current)
    if (!remember) return
    try {
      window.localStorage.setItem(this.storageKey, String(this.current))
    } catch (_) {
      // private mode: the layout lasts as long as the page
    }
    const url = new URL(window.location.href)
    url.searchParams.set("layout", String(this.current))
    window.history.replaceState(window.history.state, "", url)
  }

  key(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault()
      this.show(this.current + (event.key === "ArrowRight" ? 1 : -1), true)
    } else if (event.key === "f" || event.key === "F") {
      this.fullscreen()
    }
  }

  fullscreen() {
    if (document.fullscreenElement) document.exitFullscreen?.()
    else document.documentElement.requestFullscreen?.().catch(() => {})
  }

  disconnect() {
    clearInterval(this.timer)
  }

  async poll() {
    try {
      const response = await fetch(this.urlValue, { headers: { Accept: "application/json" } })
      if (!response.ok) return
      const data = await response.json()
      const shown = document.getElementById("current-heat")
      if (!shown) return
      if (String(data.current_heat) !== shown.dataset.number || data.last_update !== shown.dataset.lastUpdate) {
        await this.refresh()
      }
    } catch (error) {
      // offline for a moment: try again at the next tick
    }
  }

  async refresh() {
    const response = await fetch(window.location.href, { headers: { Accept: "text/html" } })
    if (!response.ok) return
    const page = new DOMParser().parseFromString(await response.text(), "text/html")
    const fresh = page.getElementById("current-heat")
    if (fresh) document.getElementById("current-heat")?.replaceWith(document.importNode(fresh, true))
  }
}
