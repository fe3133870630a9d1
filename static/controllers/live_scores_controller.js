// Results pages follow live-scores-<db>: each saved or removed score replaces the
// #last-score-update element inside this controller's element (a turbo-stream), and the
// page is then fetched again and morphed in place (scroll position and open details kept).
// Several scores in a burst make one refresh.
import { Controller } from "@hotwired/stimulus"
import { morphChildren } from "@hotwired/turbo"

const SETTLE = 500 // ms after the last update before refreshing
const TIMEOUT = 15000

export default class extends Controller {
  connect() {
    this.observer = new MutationObserver(() => this.changed())
    this.observe()
  }

  observe() {
    this.observer.observe(this.element, { childList: true, subtree: true, characterData: true })
  }

  disconnect() {
    this.observer.disconnect()
    clearTimeout(this.timer)
  }

  changed() {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.refresh(), SETTLE)
  }

  async refresh() {
    if (this.loading) {
      this.again = true
      return
    }
    this.loading = true
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), TIMEOUT)
    try {
      const response = await fetch(window.location.href, {
        headers: { Accept: "text/html" },
        credentials: "same-origin",
        signal: abort.signal,
      })
      if (!response.ok) return
      const page = new DOMParser().parseFromString(await response.text(), "text/html")
      const main = document.querySelector("main")
      const fresh = page.querySelector("main")
      if (main && fresh) {
        this.observer.disconnect() // the morph puts back the page's own #last-score-update
        try {
          morphChildren(main, fresh)
        } finally {
          this.observe()
        }
        document.dispatchEvent(new CustomEvent("live-scores:refreshed"))
      }
    } catch (_) {
      // offline for a moment: the next update refreshes
    } finally {
      clearTimeout(timer)
      this.loading = false
      if (this.again) {
        this.again = false
        this.changed()
      }
    }
  }
}
