// Public heat list: filter as you type, keep the current heat marked and in view.
// Without JavaScript the page still works: the search box submits ?query= to the server.
import { Controller } from "@hotwired/stimulus"

export default class extends Controller {
  static targets = ["query", "heat", "section", "empty"]
  static values = { url: String, current: Number, lastUpdate: String, interval: { type: Number, default: 20000 } }

  connect() {
    this.currentRow = this.heatTargets.find((heat) => heat.id === "current-heat") || null
    this.filter()
    this.scrollToCurrent()
    // A turbo-stream replacing #current-heat (stream current-heat-<db>) swaps in the
    // counter's fragment: read its heat number, put our row back, move the mark.
    this.observer = new MutationObserver(() => this.streamed())
    this.observer.observe(this.element, { childList: true, subtree: true })
    if (this.urlValue && this.intervalValue > 0) {
      this.timer = setInterval(() => this.poll(), this.intervalValue)
    }
  }

  disconnect() {
    this.observer?.disconnect()
    clearInterval(this.timer)
  }

  filter() {
    const text = this.hasQueryTarget ? this.queryTarget.value : ""
    const words = text.toLowerCase().split(/\s+/).filter(Boolean)
    let shown = 0
    for (const heat of this.heatTargets) {
      const haystack = this.searchText(heat)
      heat.hidden = !words.every((word) => haystack.includes(word))
      if (!heat.hidden) shown++
    }
    for (const section of this.sectionTargets) {
      section.hidden = !section.querySelector("[data-heatlist-target~='heat']:not([hidden])")
    }
    if (this.hasEmptyTarget) this.emptyTarget.hidden = shown > 0
    const url = new URL(window.location.href)
    if (words.length) url.searchParams.set("query", text)
    else url.searchParams.delete("query")
    window.history.replaceState(window.history.state, "", url)
  }

  searchText(heat) {
    if (!this.texts) this.texts = new WeakMap()
    let text = this.texts.get(heat)
    if (text === undefined) {
      text = heat.textContent.replace(/\s+/g, " ").toLowerCase()
      this.texts.set(heat, text)
    }
    return text
  }

  scrollToCurrent() {
    const number = this.currentValue
    if (!number) return
    const next = this.heatTargets.find((heat) => !heat.hidden && parseFloat(heat.dataset.number) >= number)
    next?.scrollIntoView({ block: "center" })
  }

  mark(number) {
    this.currentValue = number
    const old = this.element.querySelector("#current-heat")
    if (old && "heatlistPlaceholder" in old.dataset) old.remove()
    else old?.removeAttribute("id")
    this.currentRow?.classList.remove("current")
    this.currentRow = this.heatTargets.find((heat) => parseFloat(heat.dataset.number) === number) || null
    if (this.currentRow) {
      this.currentRow.id = "current-heat"
      this.currentRow.classList.add("current")
    } else {
      // keep a target for the next turbo-stream
      const placeholder = document.createElement("span")
      placeholder.id = "current-heat"
      placeholder.hidden = true
      placeholder.dataset.heatlistPlaceholder = ""
      this.element.append(placeholder)
    }
    this.scrollToCurrent()
  }

  streamed() {
    const found = document.getElementById("current-heat")
    if (!found || !this.element.contains(found)) return
    if (found.dataset.heatlistTarget === "heat" || "heatlistPlaceholder" in found.dataset) return
    if (found.dataset.lastUpdate && found.dataset.lastUpdate !== this.lastUpdateValue) {
      window.location.reload()  // the agenda changed: numbers may have moved
      return
    }
    const number = parseFloat(found.dataset.number) || 0
    if (this.currentRow && !this.currentRow.isConnected) found.replaceWith(this.currentRow)
    else found.remove()
    this.mark(number)
  }

  async poll() {
    try {
      const response = await fetch(this.urlValue, { headers: { Accept: "application/json" } })
      if (!response.ok) return
      const data = await response.json()
      if (data.last_update !== this.lastUpdateValue) window.location.reload()
      else if (data.current_heat !== this.currentValue) this.mark(data.current_heat)
    } catch (error) {
      // offline for a moment: try again at the next tick
    }
  }
}
