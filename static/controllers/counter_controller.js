// Counter: the real-time stream replaces #current-heat; this polls current.json as a
// fallback and fetches a fresh #current-heat when the heat on the floor changes.
import { Controller } from "@hotwired/stimulus"

export default class extends Controller {
  static values = { url: String, interval: { type: Number, default: 10000 } }

  connect() {
    if (this.urlValue && this.intervalValue > 0) {
      this.timer = setInterval(() => this.poll(), this.intervalValue)
    }
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
