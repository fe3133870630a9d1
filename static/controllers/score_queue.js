// The offline score queue: marks a judge entered while the network was down, kept in
// IndexedDB until the server has them.
//
// One record per (batch URL, heat, slot): the batch URL names the event and the judge, so
// judges and events sharing a tablet never mix.  Queuing a newer mark for the same key
// merges it over the queued one (fields sent later win, fields not sent are kept), so the
// queue holds the latest of everything entered.  flush() sends every record to the batch
// endpoint and removes the ones the server accepted or refused -- but only if they were not
// replaced while the request was out, so nothing entered is lost, and since the server
// applies a mark idempotently, nothing is applied twice either.

const DB_NAME = "showcase_scores"
const STORE = "queue"
const CHANNEL = "showcase-scores"
const listeners = new Set()
let opening = null
let channel = null
const flushing = new Map() // batch URL -> promise of the flush under way in this tab

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1)
      request.onupgradeneeded = () => {
        const store = request.result.createObjectStore(STORE, { keyPath: "key" })
        store.createIndex("batchUrl", "batchUrl")
      }
      request.onsuccess = () => resolve(request.result)
      request.onerror = () => {
        opening = null
        reject(request.error)
      }
    })
  }
  return opening
}

// Run fn(store) in one transaction; resolves with what fn's last request produced.
async function withStore(mode, fn) {
  const db = await open()
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode)
    let result
    fn(tx.objectStore(STORE), (value) => { result = value })
    tx.oncomplete = () => resolve(result)
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error)
  })
}

export function keyOf(batchUrl, heat, slot) {
  return `${batchUrl}|${heat}|${slot === null || slot === undefined || slot === "" ? "" : slot}`
}

function version() {
  return `${Date.now()}-${Math.random().toString(36).slice(2)}`
}

function changed() {
  for (const listener of listeners) listener()
  try {
    channel = channel || new BroadcastChannel(CHANNEL)
    channel.postMessage("changed")
  } catch (_) {
    // no BroadcastChannel: other tabs see the count on their next refresh
  }
}

// Call back whenever the queue changes, in this tab or another; returns an unsubscribe.
export function onChange(listener) {
  listeners.add(listener)
  let other = null
  try {
    other = new BroadcastChannel(CHANNEL)
    other.onmessage = () => listener()
  } catch (_) {
    other = null
  }
  return () => {
    listeners.delete(listener)
    if (other) other.close()
  }
}

// Queue a mark ({heat, slot?, score?, comments?, good?, bad?}), merged over a queued one.
export async function enqueue(batchUrl, item) {
  const key = keyOf(batchUrl, item.heat, item.slot)
  await withStore("readwrite", (store) => {
    const get = store.get(key)
    get.onsuccess = () => {
      const queued = get.result ? get.result.item : {}
      store.put({ key, batchUrl, item: { ...queued, ...item }, version: version(), at: Date.now() })
    }
  })
  changed()
}

export async function pending(batchUrl) {
  return withStore("readonly", (store, done) => {
    const request = store.index("batchUrl").getAll(batchUrl)
    request.onsuccess = () => done(request.result || [])
  })
}

export async function isQueued(batchUrl, heat, slot) {
  const key = keyOf(batchUrl, heat, slot)
  return withStore("readonly", (store, done) => {
    const request = store.get(key)
    request.onsuccess = () => done(Boolean(request.result))
  })
}

// Remove the records whose key is in `sent` and whose version is still the one sent.
async function remove(sent) {
  if (sent.size === 0) return
  await withStore("readwrite", (store) => {
    for (const [key, sentVersion] of sent) {
      const get = store.get(key)
      get.onsuccess = () => {
        if (get.result && get.result.version === sentVersion) store.delete(key)
      }
    }
  })
  changed()
}

async function sendBatch(batchUrl, timeout) {
  const records = await pending(batchUrl)
  if (records.length === 0) return { sent: 0, failed: [] }
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeout)
  let response
  try {
    response = await fetch(batchUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ scores: records.map((r) => r.item) }),
      credentials: "same-origin",
      signal: controller.signal,
    })
  } finally {
    clearTimeout(timer)
  }
  if (!response.ok) throw new Error(`batch answered ${response.status}`)
  const answer = await response.json()
  const versions = new Map(records.map((r) => [r.key, r.version]))
  const done = new Map()
  for (const entry of [...(answer.succeeded || []), ...(answer.failed || [])]) {
    const key = keyOf(batchUrl, entry.heat_id, entry.slot)
    if (versions.has(key)) done.set(key, versions.get(key))
  }
  await remove(done)
  return { sent: done.size, failed: answer.failed || [] }
}

// Send the queue for batchUrl; one flush at a time (across tabs where Web Locks exist).
// Resolves with {sent, failed}; rejects when the network or the server is not there.
export function flush(batchUrl, timeout = 15000) {
  if (flushing.has(batchUrl)) return flushing.get(batchUrl)
  const run = () => sendBatch(batchUrl, timeout)
  const locked = navigator.locks
    ? navigator.locks.request(`showcase-scores ${batchUrl}`, run)
    : run()
  const promise = locked.finally(() => flushing.delete(batchUrl))
  flushing.set(batchUrl, promise)
  return promise
}
