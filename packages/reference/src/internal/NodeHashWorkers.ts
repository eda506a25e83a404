/**
 * Hashing in worker threads, fed through shared memory: no message, promise or allocation per buffer.
 *
 * Each worker owns a few slots; a hasher takes a free slot and copies each buffer into the slot's ring
 * (`SharedArrayBuffer`), then rings the worker's doorbell (`Atomics.notify`). The worker hashes what is in the
 * ring with `node:crypto` and advances the ring's read counter. `update` waits (`Atomics.wait`) only when the
 * ring is full, which bounds memory; `digest` waits for the worker to finish. A hasher that finds no free slot
 * hashes in the calling thread, and a hasher dropped before its digest gives its slot back when it is
 * collected.
 *
 * Slot states (`control[0]`): FREE → ACTIVE (the calling thread took it) → FINAL (all bytes written) → DONE
 * (the worker wrote the digest) → FREE (the caller read it); ACTIVE/FINAL → ABANDONED (collected) → FREE
 * (the worker dropped its hash).
 *
 * @internal
 */
import { createHash } from "node:crypto"
import * as os from "node:os"
import { Worker } from "node:worker_threads"
import type { Algorithm } from "../Digest.js"
import * as Hash from "../Hash.js"

const FREE = 0
const ACTIVE = 1
const FINAL = 2
const DONE = 3
const ABANDONED = 4

const ALGORITHMS: ReadonlyArray<Algorithm> = ["sha256", "sha384", "sha512"]

/** The worker: hashes the rings of its slots as they fill, sleeping on its doorbell when there is nothing. */
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads")
const { createHash } = require("node:crypto")
const { FREE, ACTIVE, FINAL, DONE, ABANDONED, ALGORITHMS, doorbell, slots } = workerData
const bell = new Int32Array(doorbell)
const views = slots.map((s) => ({
  control: new Int32Array(s.control),
  counters: new BigInt64Array(s.counters),
  ring: new Uint8Array(s.ring),
  result: new Uint8Array(s.result)
}))
const size = BigInt(views[0].ring.length)
const hashes = views.map(() => undefined)
for (;;) {
  const seen = Atomics.load(bell, 0)
  let worked = false
  for (let i = 0; i < views.length; i++) {
    const { control, counters, ring, result } = views[i]
    const state = Atomics.load(control, 0)
    if (state === ABANDONED) {
      hashes[i] = undefined
      Atomics.store(control, 0, FREE)
      continue
    }
    if (state !== ACTIVE && state !== FINAL) continue
    const hash = hashes[i] ?? (hashes[i] = createHash(ALGORITHMS[Atomics.load(control, 1)]))
    const written = Atomics.load(counters, 0)
    let consumed = Atomics.load(counters, 1)
    if (written > consumed) {
      while (consumed < written) {
        const from = Number(consumed % size)
        const length = Math.min(Number(written - consumed), ring.length - from)
        hash.update(ring.subarray(from, from + length))
        consumed += BigInt(length)
      }
      Atomics.store(counters, 1, consumed)
      Atomics.notify(counters, 1)
      worked = true
    }
    if (state === FINAL) {
      const hex = hash.digest("hex")
      hashes[i] = undefined
      for (let k = 0; k < hex.length; k++) result[k] = hex.charCodeAt(k)
      Atomics.store(control, 2, hex.length)
      Atomics.store(control, 0, DONE)
      Atomics.notify(control, 0)
      worked = true
    }
  }
  if (!worked) Atomics.wait(bell, 0, seen, 1000)
}
`

interface Slot {
  readonly control: Int32Array
  readonly counters: BigInt64Array
  readonly ring: Uint8Array
  readonly result: Uint8Array
  readonly worker: WorkerHandle
}

interface WorkerHandle {
  readonly bell: Int32Array
  readonly thread: Worker
  active: number
  /** Made no progress for {@link STALL_MILLIS}: its slots are not used again. */
  failed: boolean
}

/**
 * How long a waiting hasher lets its worker make no progress before giving up on it (it cannot fail
 * otherwise: a worker only runs `node:crypto`). The hasher's digest is then all zeros, which matches no
 * content: the blob fails its digest check instead of hanging.
 */
const STALL_MILLIS = 30_000

/** @internal */
export interface Options {
  /** Worker threads (default: the machine's cores minus one, at least one). */
  readonly threads?: number | undefined
  /** Hashers each thread takes at once (default 8); more hash in the calling thread. */
  readonly slots?: number | undefined
  /** Bytes buffered per hasher (default 1 MiB): `update` waits when its worker is this far behind. */
  readonly ringBytes?: number | undefined
  /**
   * Start threads only on a machine with more than one core whose calling thread hashes slower than this
   * (MiB/s, measured once when the first large content arrives); otherwise hash in the calling thread.
   */
  readonly onlyBelowMiBps?: number | undefined
}

/** @internal */
export interface Pool {
  readonly service: Hash.Service
  /** Slots no hasher holds (for tests). */
  readonly free: () => number
  /** Threads started (for tests). */
  readonly threads: () => number
  readonly close: () => Promise<void>
}

interface RawHash {
  readonly update: (chunk: Uint8Array) => void
  readonly digestHex: () => string
}

/** Content up to this size is hashed in the calling thread. */
const SMALL_BYTES = 256 * 1024

/** `node:crypto` in the calling thread (what `NodeHash.service` is made of). @internal */
export const inline = (algorithm: Algorithm): RawHash => {
  const hash = createHash(algorithm)
  return { update: (chunk: Uint8Array) => void hash.update(chunk), digestHex: () => hash.digest("hex") }
}

/** @internal */
export const make = (options: Options = {}): Pool => {
  const threads = Math.max(1, options.threads ?? Math.max(1, os.availableParallelism() - 1))
  const perThread = Math.max(1, options.slots ?? 8)
  const ringBytes = Math.max(64 * 1024, options.ringBytes ?? 1024 * 1024)
  const size = BigInt(ringBytes)
  const slots: Array<Slot> = []
  const workers: Array<WorkerHandle> = []
  let started = false
  /** The threads start with the first content large enough to need them (if they pay on this machine). */
  const start = () => {
    if (started) return
    started = true
    const limit = options.onlyBelowMiBps
    if (limit !== undefined && (os.availableParallelism() < 2 || measureMiBps() >= limit)) return
    for (let t = 0; t < threads; t++) {
      const doorbell = new SharedArrayBuffer(4)
      const shared = Array.from({ length: perThread }, () => ({
        control: new SharedArrayBuffer(16),
        counters: new SharedArrayBuffer(16),
        ring: new SharedArrayBuffer(ringBytes),
        result: new SharedArrayBuffer(128)
      }))
      const thread = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { FREE, ACTIVE, FINAL, DONE, ABANDONED, ALGORITHMS, doorbell, slots: shared }
      })
      thread.unref()
      const handle: WorkerHandle = { bell: new Int32Array(doorbell), thread, active: 0, failed: false }
      // a worker that dies (or is stopped) takes no more hashers; one waiting on it gives up after
      // STALL_MILLIS with a digest that matches nothing. Listening keeps its error from ending the process.
      const fail = () => {
        handle.failed = true
      }
      thread.on("error", fail)
      thread.on("exit", fail)
      workers.push(handle)
      for (const s of shared) {
        slots.push({
          control: new Int32Array(s.control),
          counters: new BigInt64Array(s.counters),
          ring: new Uint8Array(s.ring),
          result: new Uint8Array(s.result),
          worker: handle
        })
      }
    }
  }

  const ring = (worker: WorkerHandle) => {
    Atomics.add(worker.bell, 0, 1)
    Atomics.notify(worker.bell, 0)
  }

  // A hasher collected before its digest gives its slot back (the worker drops its hash).
  const owners = new Map<Slot, object>()
  const abandoned = new FinalizationRegistry<{ readonly slot: Slot; readonly owner: object }>(({ owner, slot }) => {
    if (owners.get(slot) !== owner) return
    owners.delete(slot)
    slot.worker.active--
    const state = Atomics.load(slot.control, 0)
    Atomics.store(slot.control, 0, state === DONE ? FREE : ABANDONED)
    ring(slot.worker)
  })

  const acquire = (): Slot | undefined => {
    start()
    let best: Slot | undefined
    for (const slot of slots) {
      if (slot.worker.failed || Atomics.load(slot.control, 0) !== FREE || owners.has(slot)) continue
      if (best === undefined || slot.worker.active < best.worker.active) best = slot
    }
    return best
  }

  const onWorker = (algorithm: Algorithm): RawHash => {
    const slot = acquire()
    if (slot === undefined) return inline(algorithm)
    const owner = {}
    owners.set(slot, owner)
    slot.worker.active++
    Atomics.store(slot.control, 1, ALGORITHMS.indexOf(algorithm))
    Atomics.store(slot.counters, 0, 0n)
    Atomics.store(slot.counters, 1, 0n)
    Atomics.store(slot.control, 0, ACTIVE)
    let written = 0n
    let broken = false
    /** Waits (ringing the worker) until `moved()`; false when the worker has stalled. */
    const waitUntil = (moved: () => boolean, sleep: () => void): boolean => {
      const since = Date.now()
      while (!moved()) {
        if (slot.worker.failed || Date.now() - since > STALL_MILLIS) {
          slot.worker.failed = true
          return false
        }
        ring(slot.worker)
        sleep()
      }
      return true
    }
    const raw = {
      update: (chunk: Uint8Array) => {
        let offset = 0
        while (offset < chunk.length && !broken) {
          const consumed = Atomics.load(slot.counters, 1)
          const space = ringBytes - Number(written - consumed)
          if (space === 0) {
            broken = !waitUntil(
              () => Atomics.load(slot.counters, 1) !== consumed,
              () => Atomics.wait(slot.counters, 1, consumed, 1000)
            )
            continue
          }
          const at = Number(written % size)
          const length = Math.min(space, chunk.length - offset, ringBytes - at)
          slot.ring.set(chunk.subarray(offset, offset + length), at)
          offset += length
          written += BigInt(length)
          Atomics.store(slot.counters, 0, written)
        }
        ring(slot.worker)
      },
      digestHex: () => {
        Atomics.store(slot.control, 0, FINAL)
        const finished = !broken && waitUntil(
          () => Atomics.load(slot.control, 0) !== FINAL,
          () => Atomics.wait(slot.control, 0, FINAL, 1000)
        )
        if (!finished) return "0".repeat(algorithm === "sha256" ? 64 : algorithm === "sha384" ? 96 : 128)
        const length = Atomics.load(slot.control, 2)
        let hex = ""
        for (let k = 0; k < length; k++) hex += String.fromCharCode(slot.result[k]!)
        owners.delete(slot)
        slot.worker.active--
        abandoned.unregister(owner)
        Atomics.store(slot.control, 0, FREE)
        return hex
      }
    }
    abandoned.register(raw, { slot, owner }, owner)
    return raw
  }

  // Small content (manifests, configs) is hashed in the calling thread: its first bytes are kept until it
  // turns out larger than SMALL_BYTES, then handed to a worker with the rest.
  const service = Hash.fromRaw((algorithm) => {
    let pending: Array<Uint8Array> = []
    let pendingBytes = 0
    let target: RawHash | undefined
    return {
      update: (chunk) => {
        if (target !== undefined) return target.update(chunk)
        if (pendingBytes + chunk.length <= SMALL_BYTES) {
          pending.push(chunk.slice())
          pendingBytes += chunk.length
          return
        }
        target = onWorker(algorithm)
        for (const part of pending) target.update(part)
        pending = []
        target.update(chunk)
      },
      digestHex: () => {
        if (target !== undefined) return target.digestHex()
        const hash = inline(algorithm)
        for (const part of pending) hash.update(part)
        return hash.digestHex()
      }
    }
  })

  return {
    service,
    free: () => slots.filter((slot) => Atomics.load(slot.control, 0) === FREE && !owners.has(slot)).length,
    close: () => Promise.all(workers.map((w) => w.thread.terminate())).then(() => undefined),
    threads: () => workers.length
  }
}

/**
 * Throughput of `node:crypto` SHA-256 in this thread, in MiB/s: the best of three rounds of 2 MiB after a
 * warm-up (~5 ms in all where the CPU has SHA extensions). Anything else running can only slow a round down,
 * so the best one is the CPU's speed; a single cold round (fresh pages, OpenSSL's first call) measured
 * 1.1–1.3 GiB/s on a CPU that hashes 1.8 GiB/s, on either side of `"auto"`'s 1 GiB/s as the machine's load
 * varied, and the same pull then ran with or without worker threads from one run to the next.
 *
 * @internal
 */
export const measureMiBps = (): number => {
  const block = new Uint8Array(256 * 1024)
  createHash("sha256").update(block).digest()
  let best = 0
  for (let round = 0; round < 3; round++) {
    const hash = createHash("sha256")
    const start = process.hrtime.bigint()
    for (let i = 0; i < 8; i++) hash.update(block)
    hash.digest()
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    best = Math.max(best, 2 / Math.max(seconds, 1e-6))
  }
  return best
}
