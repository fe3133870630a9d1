// The admin's progress page (templates/index/progress.html): follows the user's
// config_update_index_<user> stream (spec/cable.md) and shows each message
// {status: "processing"|"completed"|"error", progress: 0..100, message, url?}.
// On "completed" with a url the browser goes to the new event.
//
// Messages sent before the socket subscribed are not replayed by the hub, so once
// subscribed the page asks the app for the latest state (status value, JSON) too.
// That answer and the socket's messages can arrive in either order, so a "processing"
// state behind the progress already shown is stale and skipped: the bar never goes back.
// Without JavaScript the page refreshes itself (a <noscript> refresh) instead.
import { Controller } from "@hotwired/stimulus"
import { follow } from "controllers/cable.js"

export default class extends Controller {
  static values = { url: String, stream: String, status: String }
  static targets = ["bar", "message", "link", "log"]

  connect() {
    this.finished = false
    this.lastMessage = null
    this.shownProgress = -1
    this.received = (event) => {
      if (event.detail && event.detail.stream === this.streamValue) this.show(event.detail.data)
    }
    document.addEventListener("turbo:stream-message", this.received)
    this.stop = follow(this.urlValue, this.streamValue, (state) => {
      this.element.dataset.cableState = state
      if (state === "subscribed") this.catchUp()
    })
  }

  disconnect() {
    document.removeEventListener("turbo:stream-message", this.received)
    if (this.stop) this.stop()
    this.stop = null
  }

  async catchUp() {
    if (!this.statusValue) return
    try {
      const response = await fetch(this.statusValue, { headers: { Accept: "application/json" } })
      if (response.ok) this.show(await response.json())
    } catch (_) {
      // the next message over the socket will say where things are
    }
  }

  show(data) {
    if (!data || typeof data !== "object" || this.finished || data.status === "idle") return
    if (typeof data.progress === "number") {
      if (data.status === "processing" && data.progress < this.shownProgress) return
      this.shownProgress = data.progress
    }
    this.element.dataset.status = data.status
    if (this.hasBarTarget && typeof data.progress === "number") this.barTarget.value = data.progress
    if (this.hasMessageTarget) {
      this.messageTarget.textContent = data.message || ""
      this.messageTarget.classList.toggle("error", data.status === "error")
    }
    if (this.hasLogTarget && data.message && data.message !== this.lastMessage) {
      const item = document.createElement("li")
      item.textContent = data.message
      this.logTarget.append(item)
    }
    this.lastMessage = data.message
    if (data.url && this.hasLinkTarget) {
      this.linkTarget.querySelector("a").href = data.url
      this.linkTarget.hidden = false
    }
    if (data.status === "completed" || data.status === "error") this.finished = true
    if (data.status === "completed" && data.url) window.location.assign(data.url)
  }
}
