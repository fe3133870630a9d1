// The cable client (spec/cable.md, turbo_cable's protocol): one WebSocket per cable URL,
// shared by every element on the page that follows a stream, and kept across Turbo visits.
//
// Client → server: {type: "subscribe"|"unsubscribe", stream}, {type: "pong"} (for each ping).
// Server → client: subscribed, rejected, ping, and {type: "message", stream, data}: a string
// is a <turbo-stream> document rendered with Turbo; any other value is dispatched on document
// as `turbo:stream-message` with detail {stream, data}.
//
// A closed socket (the router restarting, the network dropping, or no hub at all when the
// event is served without the router) is reopened 3 s later and every stream subscribed
// again; nothing is shown to the user.  A stream nobody follows any more is unsubscribed a
// moment later, so a Turbo visit between two pages that follow it does not drop it.

import { renderStreamMessage } from "@hotwired/turbo"

const RECONNECT = 3000
const LINGER = 1000

const connections = new Map() // absolute ws URL -> Connection

export function socketUrl(path) {
  const url = new URL(path, window.location.href)
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:"
  return url.href
}

class Connection {
  constructor(url) {
    this.url = url
    this.streams = new Map() // stream -> Set of listeners (state) => void
    this.states = new Map() // stream -> "pending" | "subscribed" | "rejected"
    this.leaving = new Map() // stream -> timer of a pending unsubscribe
    this.socket = null
    this.timer = null
  }

  follow(stream, listener) {
    clearTimeout(this.leaving.get(stream))
    this.leaving.delete(stream)
    let listeners = this.streams.get(stream)
    if (!listeners) {
      listeners = new Set()
      this.streams.set(stream, listeners)
      this.states.set(stream, "pending")
      this.send({ type: "subscribe", stream })
    }
    listeners.add(listener)
    listener(this.states.get(stream))
    if (!this.socket && !this.timer) this.open()
  }

  unfollow(stream, listener) {
    const listeners = this.streams.get(stream)
    if (!listeners) return
    listeners.delete(listener)
    if (listeners.size > 0 || this.leaving.has(stream)) return
    this.leaving.set(stream, setTimeout(() => {
      this.leaving.delete(stream)
      if (this.streams.get(stream)?.size) return
      this.streams.delete(stream)
      this.states.delete(stream)
      this.send({ type: "unsubscribe", stream })
      if (this.streams.size === 0) this.close()
    }, LINGER))
  }

  open() {
    this.timer = null
    let socket
    try {
      socket = new WebSocket(this.url)
    } catch (_) {
      this.retry()
      return
    }
    this.socket = socket
    socket.onopen = () => {
      for (const stream of this.streams.keys()) this.send({ type: "subscribe", stream })
    }
    socket.onmessage = (event) => this.receive(event.data)
    socket.onerror = () => {} // a close follows
    socket.onclose = () => {
      if (this.socket !== socket) return
      this.socket = null
      for (const stream of this.streams.keys()) this.update(stream, "pending")
      this.retry()
    }
  }

  retry() {
    if (this.streams.size > 0 && !this.timer) this.timer = setTimeout(() => this.open(), RECONNECT)
  }

  close() {
    clearTimeout(this.timer)
    this.timer = null
    const socket = this.socket
    this.socket = null
    if (socket) socket.close()
    connections.delete(this.url)
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message))
  }

  receive(text) {
    let message
    try {
      message = JSON.parse(text)
    } catch (_) {
      return
    }
    if (!message || typeof message !== "object") return
    const stream = message.stream
    switch (message.type) {
      case "ping":
        this.send({ type: "pong" })
        break
      case "subscribed":
      case "rejected":
        if (this.streams.has(stream)) this.update(stream, message.type)
        break
      case "message":
        if (!this.streams.has(stream)) break
        if (typeof message.data === "string") renderStreamMessage(message.data)
        else document.dispatchEvent(new CustomEvent("turbo:stream-message", { detail: { stream, data: message.data } }))
        break
    }
  }

  update(stream, state) {
    this.states.set(stream, state)
    for (const listener of this.streams.get(stream) || []) listener(state)
  }
}

// Follow `stream` on the cable at `path` (e.g. "/showcase/2025/boston/cable"): its messages
// are rendered from now on; `listener(state)` hears "pending", "subscribed" or "rejected".
// Answers the function that stops following.
export function follow(path, stream, listener = () => {}) {
  const url = socketUrl(path)
  let connection = connections.get(url)
  if (!connection) {
    connection = new Connection(url)
    connections.set(url, connection)
  }
  connection.follow(stream, listener)
  return () => connection.unfollow(stream, listener)
}
