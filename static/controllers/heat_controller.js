// A judge's (or the emcee's) heat page: every click saves at once, the keyboard and swipes
// move between heats, Space/Enter starts the heat, and marks survive the network dropping.
//
// Saving: each mark is POSTed as JSON to the judge's post URL; a couple's row shows
// "saving…", then "saved" (or the server's refusal).  When the post cannot reach the server
// (fetch rejects, times out, or the router says the event is unavailable) the mark goes to
// the IndexedDB queue of score_queue.js, the row shows "queued" and the page shows "N
// pending"; the queue is sent with the batch URL on `online` events, on a timer, and after
// any post that got through.  Marks for one couple are sent one after another, and a mark
// for a couple that still has one queued joins the queue, so the server sees them in order.
//
// Navigation: ←/→ (not while typing), swipe left/right, and the previous/next links fetch
// the heat page and render it with Turbo.  The next few heat pages are fetched ahead, so when
// the network is down the judge can still move on to them and score (marks queue as above).
//
// The heat on the floor: the page follows current-heat-<db>, whose turbo-stream lands in the
// hidden `floor` target; "On the floor" shows, and the emcee's "Start heat" hides, when its
// number is this heat's.

import { Controller } from "@hotwired/stimulus"
import { visit } from "@hotwired/turbo"
import { enqueue, flush, isQueued, onChange, pending } from "controllers/score_queue.js"

const POST_TIMEOUT = 10000
const PAGE_TIMEOUT = 8000
const FLUSH_EVERY = 10000
const PAGE_FRESH = 60000
const PAGES_KEPT = 24
const UNAVAILABLE = [502, 503, 504]

const pages = new Map() // url -> {html, at}: heat pages fetched ahead, for offline use
const sessionMarks = new Map() // "heat|slot" -> fields saved from this tab since it loaded
const chains = new Map() // "heat|slot" -> promise of the last send for that couple
let cachedRender = null // the url being rendered from `pages` (overlay our marks on it)

function slotOf(element) {
  const slot = element.dataset.slot
  return slot === undefined || slot === "" ? null : Number(slot)
}

function coupleKey(heat, slot) {
  return `${heat}|${slot === null || slot === undefined ? "" : slot}`
}

function isTyping(target) {
  return Boolean(target && target.closest && target.closest("input, textarea, select, [contenteditable]"))
}

async function fetchWithTimeout(url, options, timeout) {
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeout)
  try {
    return await fetch(url, { credentials: "same-origin", ...options, signal: controller.signal })
  } finally {
    clearTimeout(timer)
  }
}

function remember(url, html) {
  pages.delete(url)
  pages.set(url, { html, at: Date.now() })
  while (pages.size > PAGES_KEPT) pages.delete(pages.keys().next().value)
}

export default class extends Controller {
  static targets = ["couple", "pending", "notice", "current", "start", "floor"]
  static values = {
    number: String,
    postUrl: String,
    batchUrl: String,
    startUrl: String,
    prevUrl: String,
    nextUrl: String,
    listUrl: String,
    ahead: Array,
  }

  connect() {
    this.touch = null
    this.online = () => this.sync()
    window.addEventListener("online", this.online)
    const fromCache = cachedRender !== null && cachedRender === window.location.href
    cachedRender = null
    if (this.batchUrlValue) {
      this.unsubscribe = onChange(() => this.refreshPending())
      this.timer = setInterval(() => this.sync(), FLUSH_EVERY)
      this.overlay(fromCache).catch(() => {}).then(() => this.sync())
    }
    this.prefetchTimer = setTimeout(() => this.prefetch(), 300)
    if (this.hasFloorTarget) {
      this.floorObserver = new MutationObserver(() => this.floorChanged())
      this.floorObserver.observe(this.floorTarget, { childList: true, subtree: true })
    }
  }

  disconnect() {
    this.floorObserver?.disconnect()
    window.removeEventListener("online", this.online)
    if (this.unsubscribe) this.unsubscribe()
    clearInterval(this.timer)
    clearTimeout(this.prefetchTimer)
  }

  // -- entering marks ------------------------------------------------------------------

  choose(event) {
    const button = event.currentTarget
    const couple = button.closest("[data-heat-id]")
    if (event.detail > 0) button.blur() // a pointer click leaves Space/Enter to start the heat
    this.save(couple, { score: button.dataset.value })
  }

  toggle(event) {
    const button = event.currentTarget
    const couple = button.closest("[data-heat-id]")
    if (event.detail > 0) button.blur()
    const field = button.dataset.field
    const other = field === "good" ? "bad" : "good"
    const on = button.getAttribute("aria-pressed") !== "true"
    const codes = (name) =>
      [...couple.querySelectorAll(`[data-field="${name}"][aria-pressed="true"]`)].map((b) => b.dataset.code)
    let mine = codes(field).filter((c) => c !== button.dataset.code)
    if (on) mine = [...mine, button.dataset.code]
    const theirs = codes(other).filter((c) => !on || c !== button.dataset.code)
    this.save(couple, { [field]: mine.join(" "), [other]: theirs.join(" ") })
  }

  enter(event) {
    const input = event.currentTarget
    const couple = input.closest("[data-heat-id]")
    if (input.dataset.part) {
      const parts = {}
      for (const part of couple.querySelectorAll("[data-part]")) {
        if (part.value.trim() !== "") parts[part.dataset.part] = part.value.trim()
      }
      this.save(couple, { score: Object.keys(parts).length ? parts : "" })
    } else {
      this.save(couple, { [input.dataset.field]: input.value })
    }
  }

  // Show `fields` in a couple's inputs (what was clicked, queued, or saved elsewhere).
  show(couple, fields) {
    if ("score" in fields) {
      const score = fields.score
      if (score !== null && typeof score === "object") {
        for (const input of couple.querySelectorAll("[data-part]")) {
          input.value = score[input.dataset.part] ?? ""
        }
      } else {
        const text = score === null || score === undefined ? "" : String(score)
        for (const button of couple.querySelectorAll('button[data-field="score"]')) {
          button.setAttribute("aria-pressed", String(button.dataset.value === text))
        }
        for (const input of couple.querySelectorAll('input[data-field="score"]:not([data-part])')) {
          if (document.activeElement !== input) input.value = text
        }
      }
    }
    for (const field of ["good", "bad"]) {
      if (!(field in fields)) continue
      const codes = new Set(String(fields[field] || "").split(/\s+/).filter(Boolean))
      for (const button of couple.querySelectorAll(`button[data-field="${field}"]`)) {
        button.setAttribute("aria-pressed", String(codes.has(button.dataset.code)))
      }
    }
    if ("comments" in fields) {
      const box = couple.querySelector('textarea[data-field="comments"]')
      if (box && document.activeElement !== box) box.value = fields.comments || ""
    }
  }

  setState(couple, state, text) {
    couple.dataset.state = state
    const label = couple.querySelector('[data-role="state"]')
    if (label) label.textContent = text ?? { saving: "saving…", saved: "saved", pending: "queued", error: "not saved" }[state] ?? ""
  }

  save(couple, fields) {
    if (!couple || !this.postUrlValue) return
    const heat = Number(couple.dataset.heatId)
    const slot = slotOf(couple)
    const item = { heat, slot, ...fields }
    this.show(couple, fields)
    this.setState(couple, "saving")
    const key = coupleKey(heat, slot)
    const previous = chains.get(key) || Promise.resolve()
    const next = previous.catch(() => {}).then(() => this.send(couple, item))
    chains.set(key, next)
    next.finally(() => { if (chains.get(key) === next) chains.delete(key) })
  }

  async send(couple, item) {
    const key = coupleKey(item.heat, item.slot)
    let queued = false
    try {
      queued = await isQueued(this.batchUrlValue, item.heat, item.slot)
    } catch (_) {
      queued = false // no IndexedDB here: post directly
    }
    if (navigator.onLine === false || queued) return this.queue(couple, item)
    let response
    try {
      response = await fetchWithTimeout(this.postUrlValue, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(item),
      }, POST_TIMEOUT)
    } catch (_) {
      return this.queue(couple, item)
    }
    if (UNAVAILABLE.includes(response.status)) return this.queue(couple, item)
    const answer = await response.json().catch(() => ({}))
    if (!response.ok) {
      this.setState(couple, "error", answer.error || `not saved (${response.status})`)
      return
    }
    sessionMarks.set(key, { ...(sessionMarks.get(key) || {}), ...item })
    this.setState(couple, answer.deleted ? "" : "saved", answer.deleted ? "cleared" : "saved")
    this.sync()
  }

  async queue(couple, item) {
    try {
      await enqueue(this.batchUrlValue, item)
      this.setState(couple, "pending")
    } catch (error) {
      this.setState(couple, "error", "not saved: offline and this browser cannot store it")
    }
    this.refreshPending()
  }

  // -- the offline queue ------------------------------------------------------------------

  async refreshPending() {
    if (!this.hasPendingTarget || !this.batchUrlValue) return []
    let records = []
    try {
      records = await pending(this.batchUrlValue)
    } catch (_) {
      records = []
    }
    this.pendingTarget.hidden = records.length === 0
    this.pendingTarget.textContent = `${records.length} pending`
    return records
  }

  // Fill in what this page cannot know: marks queued offline, and (on a page rendered from
  // the ahead cache) marks saved from this tab since the page was fetched.
  async overlay(fromCache) {
    const records = await this.refreshPending()
    const queued = new Map(records.map((r) => [coupleKey(r.item.heat, r.item.slot), r.item]))
    for (const couple of this.coupleTargets) {
      const key = coupleKey(Number(couple.dataset.heatId), slotOf(couple))
      if (fromCache && sessionMarks.has(key)) {
        this.show(couple, sessionMarks.get(key))
        this.setState(couple, "saved")
      }
      if (queued.has(key)) {
        this.show(couple, queued.get(key))
        this.setState(couple, "pending")
      }
    }
  }

  async sync() {
    if (!this.batchUrlValue) return
    const records = await this.refreshPending()
    if (records.length === 0 || navigator.onLine === false) return
    try {
      const { failed } = await flush(this.batchUrlValue)
      const sent = new Set(records.map((r) => coupleKey(r.item.heat, r.item.slot)))
      const refused = new Map(failed.map((f) => [coupleKey(f.heat_id, f.slot), f.error]))
      const still = new Set((await this.refreshPending()).map((r) => coupleKey(r.item.heat, r.item.slot)))
      for (const couple of this.coupleTargets) {
        const key = coupleKey(Number(couple.dataset.heatId), slotOf(couple))
        if (refused.has(key)) this.setState(couple, "error", refused.get(key))
        else if (sent.has(key) && !still.has(key)) this.setState(couple, "saved")
      }
      if (failed.length) {
        this.say(`${failed.length} queued mark${failed.length === 1 ? " was" : "s were"} refused: ` +
          failed.map((f) => f.error).join("; "))
      }
    } catch (_) {
      // still offline: the timer and the next `online` event try again
    }
  }

  say(text) {
    if (!this.hasNoticeTarget) return
    this.noticeTarget.textContent = text
    this.noticeTarget.hidden = !text
  }

  // -- moving between heats -----------------------------------------------------------------

  key(event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return
    const target = event.target
    if (event.key === "Escape") {
      if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur()
      return
    }
    if (isTyping(target)) {
      if (event.key === "Enter" && target.tagName === "INPUT") target.blur() // commits (change)
      return
    }
    if (event.key === "ArrowRight") {
      event.preventDefault()
      this.go(this.nextUrlValue)
    } else if (event.key === "ArrowLeft") {
      event.preventDefault()
      this.go(this.prevUrlValue)
    } else if ((event.key === " " || event.key === "Enter") && this.numberValue) {
      if (target.closest && target.closest("button, a, summary")) return // activates that instead
      event.preventDefault()
      this.startHeat()
    }
  }

  touchStart(event) {
    const touch = event.changedTouches[0]
    this.touch = isTyping(event.target) ? null : { x: touch.clientX, y: touch.clientY }
  }

  touchEnd(event) {
    if (!this.touch) return
    const touch = event.changedTouches[0]
    const dx = touch.clientX - this.touch.x
    const dy = touch.clientY - this.touch.y
    this.touch = null
    if (Math.abs(dx) > 60 && Math.abs(dx) > 2 * Math.abs(dy)) {
      this.go(dx < 0 ? this.nextUrlValue : this.prevUrlValue)
    } else if (dy < -80 && Math.abs(dy) > 2 * Math.abs(dx)) {
      this.go(this.listUrlValue)
    }
  }

  follow(event) {
    if (event.button > 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    this.go(event.currentTarget.href)
  }

  async go(url) {
    if (!url) return
    const target = new URL(url, window.location.href).href
    try {
      const response = await fetchWithTimeout(target, { headers: { Accept: "text/html" } }, PAGE_TIMEOUT)
      if (response.ok) {
        const html = await response.text()
        remember(target, html)
        return this.render(target, html)
      }
      if (!UNAVAILABLE.includes(response.status)) {
        window.location.href = target
        return
      }
    } catch (_) {
      // the network is down: fall back to the page fetched ahead
    }
    const kept = pages.get(target)
    if (kept) {
      cachedRender = target
      return this.render(target, kept.html)
    }
    this.say("Offline: that heat has not been loaded yet.")
  }

  render(url, html) {
    visit(url, { action: "advance", response: { statusCode: 200, redirected: false, responseHTML: html } })
  }

  async prefetch() {
    if (navigator.onLine === false) return
    for (const url of this.aheadValue || []) {
      const target = new URL(url, window.location.href).href
      const kept = pages.get(target)
      if (kept && Date.now() - kept.at < PAGE_FRESH) continue
      try {
        const response = await fetchWithTimeout(target, { headers: { Accept: "text/html" } }, PAGE_TIMEOUT)
        if (response.ok) remember(target, await response.text())
      } catch (_) {
        return
      }
    }
  }

  // -- the heat on the floor ------------------------------------------------------------------

  floorChanged() {
    const shown = this.floorTarget.querySelector("#current-heat")
    if (!shown || shown.dataset.number === undefined) return
    const here = parseFloat(shown.dataset.number) === parseFloat(this.numberValue)
    if (this.hasCurrentTarget) this.currentTarget.hidden = !here
    for (const form of this.startTargets) form.hidden = here
  }

  start(event) {
    event.preventDefault()
    this.startHeat()
  }

  async startHeat() {
    if (!this.startUrlValue || !this.numberValue) return
    try {
      const response = await fetchWithTimeout(this.startUrlValue, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ heat: Number(this.numberValue) }),
      }, POST_TIMEOUT)
      if (!response.ok) throw new Error(String(response.status))
      if (this.hasCurrentTarget) this.currentTarget.hidden = false
      for (const form of this.startTargets) form.hidden = true
      this.say("")
    } catch (_) {
      this.say(`Could not start heat ${this.numberValue}: is the network down?`)
    }
  }
}
