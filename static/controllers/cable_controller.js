// Follows the cable streams a page names and renders what they carry (see cable.js):
//   <div data-controller="cable" data-cable-url-value="/showcase/2025/boston/cable"
//        data-cable-streams-value='["current-heat-2025-boston"]' hidden></div>
// The element's data-cable-state says "connecting", "subscribed" (every stream confirmed)
// or "rejected" (the hub refused one); it is "connecting" again while the socket is down.
import { Controller } from "@hotwired/stimulus"
import { follow } from "controllers/cable.js"

export default class extends Controller {
  static values = { url: String, streams: Array }

  connect() {
    this.states = new Map()
    this.stops = []
    if (!this.urlValue) return
    for (const stream of this.streamsValue) {
      this.states.set(stream, "pending")
      this.stops.push(follow(this.urlValue, stream, (state) => this.changed(stream, state)))
    }
  }

  disconnect() {
    for (const stop of this.stops) stop()
    this.stops = []
  }

  changed(stream, state) {
    this.states.set(stream, state)
    const states = [...this.states.values()]
    let shown = "connecting"
    if (states.includes("rejected")) shown = "rejected"
    else if (states.every((s) => s === "subscribed")) shown = "subscribed"
    this.element.dataset.cableState = shown
  }
}
