/**
 * Locks across processes: a lock file, created exclusively (`wx`) and holding the owner's pid, host name, the
 * time it was taken and a random token. Index updates and `gc` hold `<layout>/index.json.lock`; a blob write
 * holds `ingest/<alg>-<hex>.lock`. Both are taken inside the in-process locks of `locks.ts`, so the fibers of
 * one process do not contend for the files.
 *
 * - Waiting: polls with jittered exponential backoff (2 ms doubling up to 100 ms); for the layout lock at most
 *   5 minutes, then fails with `LayoutLocked` naming the holder; for a blob lock as long as its holder lives
 *   (a download of a large blob).
 * - Stale locks are taken over: the owner ran on this host (same host name and, on Linux, pid namespace) and
 *   its pid is gone (`kill(pid, 0)` → `ESRCH`), or
 *   it is this very process and does not hold it (a pid reused after a crash), or the file's mtime is older
 *   than 60 s (any host; a live holder refreshes the mtime every 10 s, so long operations keep it).
 *   A takeover renames the stale file aside first and checks it is still the one judged stale, so two
 *   waiters cannot both take over, nor remove a lock taken in between.
 * - Release removes the file (only if it still holds this owner's token), also on failure and interruption;
 *   a process killed outright leaves it behind, and the next writer takes it over as above.
 *
 * The lock runs on the real clock, not the fiber's `Clock`: it coordinates with other processes and compares
 * file times the operating system wrote.
 *
 * @since 0.4.0
 */
import type * as PlatformError from "@effect/platform/Error"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { describePlatformError, FileSystemError, LayoutLocked } from "../LayoutError.js"
import { tempSuffix } from "./files.js"
import { currentOwner, isProcessAlive } from "./processOwner.js"

/**
 * The name of the lock file in the layout directory.
 *
 * @internal
 */
export const LOCK_FILE = "index.json.lock"

/**
 * Timing of the lock, in milliseconds.
 *
 * @internal
 */
export const LOCK_TIMING = {
  /** A lock file whose mtime is older than this is stale, whoever holds it. */
  staleAfter: 60_000,
  /** How often a holder refreshes the mtime of its lock file. */
  refreshEvery: 10_000,
  /** How long an index update waits for a live layout lock before failing with `LayoutLocked`. */
  maxWait: 5 * 60_000,
  firstDelay: 2,
  maxDelay: 100
} as const

const LockRecord = Schema.Struct({
  pid: Schema.Number,
  hostname: Schema.String,
  pidNamespace: Schema.optional(Schema.String),
  acquired: Schema.String,
  token: Schema.String
})
type LockRecord = typeof LockRecord.Type
const decodeRecord = Schema.decodeUnknownOption(Schema.parseJson(LockRecord))
const encoder = new TextEncoder()

/** The tokens of the lock files this process holds now. */
const held = new Set<string>()

const realClock = Clock.make()
const now = () => realClock.unsafeCurrentTimeMillis()

/** A lock file as read: its text, the record in it (none while it is being written) and its mtime. */
interface Observed {
  readonly raw: string
  readonly record: Option.Option<LockRecord>
  readonly mtime: number
}

const describeOwner = (observed: Observed | undefined): string =>
  observed === undefined || Option.isNone(observed.record)
    ? "another process (the lock file names none yet)"
    : `process ${observed.record.value.pid} on ${
      JSON.stringify(observed.record.value.hostname)
    } (since ${observed.record.value.acquired})`

/** @internal */
export interface FileLock {
  /** The lock file (absolute). */
  readonly file: string
  /**
   * Takes the lock until the scope closes. `None` when the lock file's directory does not exist (there is
   * nothing to lock yet).
   */
  readonly acquire: Effect.Effect<Option.Option<void>, LayoutLocked | FileSystemError, Scope.Scope>
  /**
   * Runs `effect` holding the lock. `None` (and `effect` not run) when the lock file's directory does not
   * exist.
   */
  readonly run: <A, E, R>(
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<Option.Option<A>, E | LayoutLocked | FileSystemError, R>
}

/**
 * The lock of a layout's `index.json` (and `gc`): `<root>/index.json.lock`, waited for at most 5 minutes.
 *
 * @internal
 */
export const makeLayoutLock = (options: {
  readonly fs: FileSystem.FileSystem
  readonly root: string
  readonly join: (...parts: Array<string>) => string
}): FileLock => makeFileLock({ fs: options.fs, root: options.root, file: options.join(options.root, LOCK_FILE) })

/**
 * A lock file `file` of the layout `root`, waited for at most `maxWait` milliseconds (default: 5 minutes;
 * `Infinity`: as long as its holder lives).
 *
 * @internal
 */
export const makeFileLock = (options: {
  readonly fs: FileSystem.FileSystem
  readonly root: string
  readonly file: string
  readonly maxWait?: number
  /** Other timings (tests). */
  readonly timing?: { readonly [K in keyof typeof LOCK_TIMING]?: number }
}): FileLock => {
  const { file, fs, root } = options
  const timing = { ...LOCK_TIMING, ...options.timing }
  const maxWait = options.maxWait ?? timing.maxWait
  const io = (error: PlatformError.PlatformError) =>
    new FileSystemError({ path: root, detail: describePlatformError(error, root), cause: error })
  const reason = (e: PlatformError.PlatformError) => e._tag === "SystemError" ? e.reason : undefined
  const me = currentOwner()

  /** The lock file at `at`, `None` when there is none. */
  const observe = (at: string): Effect.Effect<Option.Option<Observed>, FileSystemError> =>
    Effect.gen(function*() {
      const raw = yield* fs.readFileString(at)
      const info = yield* fs.stat(at)
      const mtime = Option.match(info.mtime, { onNone: () => 0, onSome: (d) => d.getTime() })
      return Option.some<Observed>({ raw, record: decodeRecord(raw), mtime })
    }).pipe(
      Effect.catchIf((e) => reason(e) === "NotFound", () => Effect.succeed(Option.none<Observed>())),
      Effect.mapError(io)
    )

  const isStale = (observed: Observed): boolean => {
    const record = observed.record
    // pids are checked only in the pid namespace of this process (same host name, same namespace)
    if (
      Option.isSome(record) && record.value.hostname === me.hostname &&
      record.value.pidNamespace === me.pidNamespace
    ) {
      if (record.value.pid === me.pid) return !held.has(record.value.token)
      if (!isProcessAlive(record.value.pid)) return true
    }
    return now() - observed.mtime > timing.staleAfter
  }

  /** Creates the lock file: `created`, `exists` (someone holds it) or `missing` (no layout directory). */
  const tryCreate = (token: string): Effect.Effect<"created" | "exists" | "missing", FileSystemError> => {
    const record: LockRecord = { ...me, acquired: new Date(now()).toISOString(), token }
    const bytes = encoder.encode(JSON.stringify(record) + "\n")
    return Effect.scoped(Effect.gen(function*() {
      const opened = yield* fs.open(file, { flag: "wx" })
      yield* Effect.onError(opened.writeAll(bytes), () => Effect.ignore(fs.remove(file)))
      return "created" as const
    })).pipe(
      Effect.catchIf((e) => reason(e) === "AlreadyExists", () => Effect.succeed("exists" as const)),
      Effect.catchIf((e) => reason(e) === "NotFound", () => Effect.succeed("missing" as const)),
      Effect.mapError(io)
    )
  }

  /** Removes a stale lock file, unless it changed since it was judged stale (then it is put back). */
  const takeOver = (stale: Observed) =>
    Effect.gen(function*() {
      const aside = `${file}.${yield* tempSuffix}.stale`
      const moved = yield* fs.rename(file, aside).pipe(
        Effect.as(true),
        Effect.catchIf((e) => reason(e) === "NotFound", () => Effect.succeed(false)),
        Effect.mapError(io)
      )
      if (!moved) return
      const again = yield* observe(aside)
      if (Option.isNone(again) || (again.value.raw === stale.raw && isStale(again.value))) {
        yield* Effect.mapError(fs.remove(aside, { force: true }), io)
        return
      }
      // taken meanwhile by a live writer: put it back (unless yet another one holds the name now)
      yield* Effect.ignore(fs.link(aside, file))
      yield* Effect.mapError(fs.remove(aside, { force: true }), io)
    })

  const acquire = (restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const token = `${me.pid}-${(yield* Random.nextIntBetween(0, 0x40000000)).toString(16)}${
        (yield* Random.nextIntBetween(0, 0x40000000)).toString(16)
      }`
      const started = now()
      let delay: number = timing.firstDelay
      let last: Observed | undefined
      while (true) {
        const created = yield* tryCreate(token)
        if (created === "created") {
          held.add(token)
          return Option.some(token)
        }
        if (created === "missing") return Option.none<string>()
        const observed = yield* observe(file)
        if (Option.isNone(observed)) continue // released meanwhile
        if (isStale(observed.value)) {
          yield* takeOver(observed.value)
          continue
        }
        last = observed.value
        const waited = now() - started
        if (waited >= maxWait) {
          return yield* new LayoutLocked({
            path: root,
            lockFile: file,
            owner: describeOwner(last),
            waitedMillis: waited
          })
        }
        const jittered = delay / 2 + (yield* Random.nextRange(0, delay / 2))
        yield* restore(Effect.withClock(Effect.sleep(jittered), realClock))
        delay = Math.min(timing.maxDelay, delay * 2)
      }
    })

  /** Keeps the mtime of a held lock file fresh, while the file still holds `token`. */
  const refresh = (token: string) =>
    Effect.withClock(
      Effect.forever(
        Effect.gen(function*() {
          yield* Effect.sleep(timing.refreshEvery)
          const current = yield* observe(file)
          if (
            Option.isSome(current) && Option.isSome(current.value.record) && current.value.record.value.token === token
          ) {
            const at = new Date(now())
            yield* Effect.mapError(fs.utimes(file, at, at), io)
          }
        }).pipe(Effect.ignore)
      ),
      realClock
    )

  const release = (token: string, refresher: Fiber.RuntimeFiber<never>) =>
    Effect.gen(function*() {
      yield* Fiber.interrupt(refresher)
      const current = yield* observe(file)
      if (Option.isSome(current) && Option.isSome(current.value.record) && current.value.record.value.token === token) {
        yield* Effect.mapError(fs.remove(file, { force: true }), io)
      }
    }).pipe(Effect.ignore, Effect.ensuring(Effect.sync(() => held.delete(token))))

  /** Takes the lock; the caller is uninterruptible, `restore` makes the waits interruptible. */
  const take = (restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const token = yield* acquire(restore)
      if (Option.isNone(token)) return Option.none<Effect.Effect<void>>()
      // a daemon: the lock may be taken by a fiber that ends before it is released (a blob's lock, taken at the
      // first byte, lives in the scope of the whole write); `release` interrupts it
      const refresher = yield* Effect.forkDaemon(Effect.interruptible(refresh(token.value)))
      return Option.some(release(token.value, refresher))
    })

  const acquireScoped: Effect.Effect<Option.Option<void>, LayoutLocked | FileSystemError, Scope.Scope> = Effect
    .uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const releasing = yield* take(restore)
        if (Option.isNone(releasing)) return Option.none()
        yield* Effect.addFinalizer(() => releasing.value)
        return Option.some<void>(undefined)
      })
    )

  const run = <A, E, R>(
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<Option.Option<A>, E | LayoutLocked | FileSystemError, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const releasing = yield* take(restore)
        if (Option.isNone(releasing)) return Option.none<A>()
        return yield* restore(effect).pipe(Effect.map(Option.some), Effect.ensuring(releasing.value))
      })
    )

  return { file, acquire: acquireScoped, run }
}
