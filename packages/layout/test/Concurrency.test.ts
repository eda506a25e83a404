/**
 * Several processes on one layout: index updates and `gc` hold the lock file `index.json.lock` (stale locks
 * taken over, live ones waited for), `gc` keeps fresh blobs for its grace period, and `index.json` is bounded.
 * The other processes are real ones: `node` running test/support/layoutChild.ts on the package's sources.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, expect, it } from "@effect/vitest"
import { Layout } from "@ocidist/layout"
import { Digest } from "@ocidist/reference"
import * as Storage from "@ocidist/spec/Storage"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import { type ChildProcess, spawn } from "node:child_process"
import * as nodeFs from "node:fs"
import * as nodeOs from "node:os"
import * as nodePath from "node:path"
import { makeFileLock } from "../src/internal/lockFile.js"

const packageDir = new URL("..", import.meta.url).pathname
const loader = new URL("./support/tsLoader.mjs", import.meta.url).pathname
const childScript = new URL("./support/layoutChild.ts", import.meta.url).pathname
const encoder = new TextEncoder()
const MiB = 1024 * 1024
/** This process's pid namespace, as the lock files record it (Linux). */
const pidNamespace: { readonly pidNamespace?: string } = (() => {
  try {
    return { pidNamespace: nodeFs.readlinkSync("/proc/self/ns/pid") }
  } catch {
    return {}
  }
})()

interface Child {
  readonly process: ChildProcess
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves once stdout holds `text`. */
  readonly printed: (text: string) => Promise<void>
}

/** Starts `layoutChild.ts <args>`; killed (SIGKILL) when the test's scope closes, if still running. */
const startChild = (...args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      const child = spawn(
        process.execPath,
        ["--conditions=@ocidist/source", "--import", loader, childScript, ...args],
        {
          cwd: packageDir,
          stdio: ["ignore", "pipe", "pipe"]
        }
      )
      let stdout = ""
      let stderr = ""
      const waiting: Array<() => void> = []
      child.stdout.on("data", (data: Buffer) => {
        stdout += data.toString("utf8")
        for (const wake of waiting.splice(0)) wake()
      })
      child.stderr.on("data", (data: Buffer) => (stderr += data.toString("utf8")))
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("exit", (code, signal) => {
          resolve({ code, signal })
          for (const wake of waiting.splice(0)) wake()
        })
      )
      const printed = (text: string): Promise<void> =>
        new Promise((resolve, reject) => {
          const check = () => {
            if (stdout.includes(text)) resolve()
            else if (child.exitCode !== null || child.signalCode !== null) {
              reject(new Error(`child exited before printing ${text}: ${stderr}`))
            } else waiting.push(check)
          }
          check()
        })
      return { process: child, exited, stdout: () => stdout, stderr: () => stderr, printed }
    }),
    (child) =>
      Effect.sync(() => {
        if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL")
      })
  )

/** Waits for a child to exit and checks it succeeded. */
const succeeded = (child: Child) =>
  Effect.gen(function*() {
    const { code, signal } = yield* Effect.promise(() => child.exited)
    assert.strictEqual(code, 0, `child exited with ${code ?? signal}: ${child.stdout()}${child.stderr()}`)
    return child.stdout()
  })

const tempDir = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped({ prefix: "layout-lock-" }))

/** A new layout with a tiny image in it (config + manifest), not tagged; its manifest's descriptor. */
const newLayout = Effect.gen(function*() {
  const path = nodePath.join(yield* tempDir, "layout")
  const layout = yield* Layout.create(path)
  const config = encoder.encode("{}")
  const configDescriptor = { mediaType: "application/vnd.oci.empty.v1+json", digest: Digest.ofBytes(config), size: 2 }
  yield* layout.pushBlob(configDescriptor, Storage.fromBytes(config))
  const manifest = yield* layout.pushManifestBytes(encoder.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: configDescriptor,
    layers: []
  })))
  return { path, layout, manifest, lockFile: nodePath.join(path, "index.json.lock") }
})

const setAge = (file: string, millis: number) => {
  const at = new Date(Date.now() - millis)
  nodeFs.utimesSync(file, at, at)
}

describe("Layout across processes", () => {
  it.scopedLive("processes tagging one layout at once, next to a gc, lose no entry", () =>
    Effect.gen(function*() {
      const { layout, lockFile, path } = yield* newLayout
      const writers = ["a", "b", "c"]
      const count = 40
      const children = yield* Effect.forEach(writers, (name) => startChild("tag", path, name, String(count)))
      const collector = yield* startChild("gc", path, "10")
      yield* Effect.forEach([...children, collector], succeeded, { concurrency: "unbounded" })
      const tags = [...yield* layout.tags].sort()
      const expected = writers.flatMap((name) => Array.from({ length: count }, (_, i) => `${name}-${i}`)).sort()
      assert.deepStrictEqual(tags, expected)
      // nothing of theirs was collected (gc ran with its default grace period) and the lock is gone
      assert.isTrue((yield* layout.verify()).ok)
      assert.isFalse(nodeFs.existsSync(lockFile))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("processes writing the same blob at once store it intact, in a layout and in a new one", () =>
    Effect.gen(function*() {
      const { path } = yield* newLayout
      const fresh = nodePath.join(yield* tempDir, "not", "yet")
      const writers = yield* Effect.forEach([path, path, fresh, fresh], (dir) => startChild("blob", dir, "7", "4"))
      const results = yield* Effect.forEach(writers, succeeded, { concurrency: "unbounded" })
      for (const [at, dir] of [path, fresh].entries()) {
        const written = results.slice(2 * at, 2 * at + 2).map((out) =>
          JSON.parse(out) as { existed: boolean; digest: string }
        )
        const digest = written[0]!.digest
        assert.strictEqual(written[1]!.digest, digest)
        const file = nodePath.join(dir, "blobs", "sha256", digest.slice("sha256:".length))
        assert.strictEqual(Digest.ofBytes(nodeFs.readFileSync(file)), digest, `${dir}: the blob matches its digest`)
        assert.deepStrictEqual(nodeFs.readdirSync(nodePath.join(dir, "ingest")), [], "no partial or lock file left")
      }
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a lock left by a killed process is taken over", () =>
    Effect.gen(function*() {
      const { layout, lockFile, manifest, path } = yield* newLayout
      const holder = yield* startChild("hold", path)
      yield* Effect.promise(() => holder.printed("held"))
      const record = JSON.parse(nodeFs.readFileSync(lockFile, "utf8")) as { pid: number; hostname: string }
      assert.strictEqual(record.pid, holder.process.pid)
      assert.strictEqual(record.hostname, nodeOs.hostname())
      holder.process.kill("SIGKILL")
      yield* Effect.promise(() => holder.exited)
      assert.isTrue(nodeFs.existsSync(lockFile), "SIGKILL leaves the lock file behind")

      yield* layout.tag(manifest, "after-kill")
      assert.deepStrictEqual(yield* layout.tags, ["after-kill"])
      assert.isFalse(nodeFs.existsSync(lockFile))
      assert.deepStrictEqual(nodeFs.readdirSync(path).filter((name) => name.includes(".lock")), [])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a live lock makes writers wait; an interrupted holder removes its lock", () =>
    Effect.gen(function*() {
      const { layout, lockFile, manifest, path } = yield* newLayout
      // interrupted (SIGTERM) with nobody waiting: the holder removes the lock file itself
      const first = yield* startChild("hold", path)
      yield* Effect.promise(() => first.printed("held"))
      assert.isTrue(nodeFs.existsSync(lockFile))
      first.process.kill("SIGTERM")
      yield* Effect.promise(() => first.exited)
      assert.isFalse(nodeFs.existsSync(lockFile))

      // a writer waits for a live holder, and goes on when the holder is interrupted (SIGINT)
      const second = yield* startChild("hold", path)
      yield* Effect.promise(() => second.printed("held"))
      const writer = yield* Effect.fork(layout.tag(manifest, "waited"))
      yield* Effect.sleep("1 second")
      assert.isTrue(Option.isNone(yield* Fiber.poll(writer)), "the writer waits for the lock")
      assert.deepStrictEqual(yield* layout.tags, [])
      second.process.kill("SIGINT")
      yield* Effect.promise(() => second.exited)
      yield* Fiber.join(writer)
      assert.deepStrictEqual(yield* layout.tags, ["waited"])
      assert.isFalse(nodeFs.existsSync(lockFile))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("stale locks: a dead pid here, this pid not held, or a minute old; pids elsewhere are not checked", () =>
    Effect.gen(function*() {
      const { layout, lockFile, manifest } = yield* newLayout
      const here = { hostname: nodeOs.hostname(), ...pidNamespace }
      const deadPid = 2_147_483_000 // above any pid_max: no such process
      const write = (record: { pid: number; hostname: string; pidNamespace?: string }) =>
        nodeFs.writeFileSync(
          lockFile,
          JSON.stringify({ ...record, acquired: new Date().toISOString(), token: "theirs" }),
          { flag: "wx" }
        )
      const tagged = (tag: string) =>
        Effect.gen(function*() {
          assert.deepStrictEqual(yield* layout.tags, [tag])
          assert.isTrue(yield* layout.untag(tag))
          assert.isFalse(nodeFs.existsSync(lockFile))
        })
      // a dead pid of this host and pid namespace; this very pid, when this process does not hold the lock (a
      // crashed process whose pid was reused, as in a container): taken over at once
      write({ pid: deadPid, ...here })
      yield* layout.tag(manifest, "dead")
      yield* tagged("dead")
      write({ pid: process.pid, ...here })
      yield* layout.tag(manifest, "reused")
      yield* tagged("reused")

      // another host, or another pid namespace under the same host name (`--network host` containers): the pid
      // cannot be checked from here, so only the age counts
      const elsewhere = [
        { pid: deadPid, hostname: "another-host.invalid" },
        { pid: deadPid, hostname: nodeOs.hostname(), pidNamespace: "pid:[1]" }
      ]
      for (const [i, record] of elsewhere.entries()) {
        write(record)
        const writer = yield* Effect.fork(layout.tag(manifest, `elsewhere-${i}`))
        yield* Effect.sleep("500 millis")
        assert.isTrue(
          Option.isNone(yield* Fiber.poll(writer)),
          `a fresh lock of ${JSON.stringify(record)} is waited for`
        )
        setAge(lockFile, 61_000)
        yield* Fiber.join(writer)
        yield* tagged(`elsewhere-${i}`)
      }

      // a lock file that is not JSON (its writer died before writing it), a minute old
      nodeFs.writeFileSync(lockFile, "", { flag: "wx" })
      setAge(lockFile, 61_000)
      yield* layout.tag(manifest, "again")
      assert.deepStrictEqual(yield* layout.tags, ["again"])
      assert.deepStrictEqual(nodeFs.readdirSync(nodePath.dirname(lockFile)).filter((n) => n.includes(".lock")), [])
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("a holder keeps its lock fresh, also when the fiber that took it has ended", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const root = yield* tempDir
      const file = nodePath.join(root, "x.lock")
      const lock = makeFileLock({ fs, root, file, timing: { refreshEvery: 50 } })
      const scope = yield* Scope.make()
      // taken in a fiber of its own that ends at once (as a blob's lock taken at the first byte)
      const taken = yield* Effect.fork(Scope.extend(lock.acquire, scope))
      assert.isTrue(Option.isSome(yield* Fiber.join(taken)))
      setAge(file, 120_000)
      yield* Effect.sleep("400 millis")
      assert.isBelow(Date.now() - nodeFs.statSync(file).mtimeMs, 60_000, "refreshed")
      yield* Scope.close(scope, Exit.void)
      assert.isFalse(nodeFs.existsSync(file))
      // no layout directory: nothing to lock
      const missing = makeFileLock({ fs, root, file: nodePath.join(root, "none", "x.lock") })
      assert.isTrue(Option.isNone(yield* missing.run(Effect.void)))
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("gc keeps unreachable blobs and partials within the grace period, and collects them after it", () =>
    Effect.gen(function*() {
      const { layout, manifest, path } = yield* newLayout
      yield* layout.tag(manifest, "v1")
      const orphanBytes = encoder.encode("written by another process, not tagged yet")
      const orphan = {
        mediaType: "application/octet-stream",
        digest: Digest.ofBytes(orphanBytes),
        size: orphanBytes.length
      }
      yield* layout.pushBlob(orphan, Storage.fromBytes(orphanBytes))
      const orphanFile = nodePath.join(path, "blobs", "sha256", Digest.hex(orphan.digest))
      nodeFs.mkdirSync(nodePath.join(path, "ingest"), { recursive: true })
      const partial = nodePath.join(path, "ingest", `sha256-${"0".repeat(64)}.partial`)
      nodeFs.writeFileSync(partial, "being written")

      // fresh: kept by default (10 minutes), dry run or not
      assert.deepStrictEqual(yield* layout.gc({ dryRun: true }), { removed: [], bytes: 0, partials: 0, recent: 1 })
      assert.deepStrictEqual(yield* layout.gc({ partials: true }), { removed: [], bytes: 0, partials: 0, recent: 2 })
      assert.isTrue(nodeFs.existsSync(orphanFile) && nodeFs.existsSync(partial))

      // 11 minutes old: collected; a shorter grace period collects younger ones
      setAge(orphanFile, 11 * 60_000)
      setAge(partial, 2_000)
      assert.deepStrictEqual(yield* layout.gc({ dryRun: true }), {
        removed: [orphan.digest],
        bytes: orphan.size,
        partials: 0,
        recent: 0
      })
      // pushing a blob that is stored already refreshes it: a pull reusing it is covered until it tags
      assert.isTrue((yield* layout.pushBlob(orphan, Storage.fromBytes(orphanBytes))).existed)
      assert.deepStrictEqual((yield* layout.gc()).removed, [])
      assert.deepStrictEqual(yield* layout.gc({ partials: true, gracePeriod: "1 second" }), {
        removed: [],
        bytes: 0,
        partials: 1,
        recent: 1
      })
      assert.isFalse(nodeFs.existsSync(partial))
      // gracePeriod 0: everything unreachable goes at once
      assert.deepStrictEqual(yield* layout.gc({ gracePeriod: 0 }), {
        removed: [orphan.digest],
        bytes: orphan.size,
        partials: 0,
        recent: 0
      })
      assert.isFalse(nodeFs.existsSync(orphanFile))
      assert.deepStrictEqual(yield* layout.tags, ["v1"])
      assert.isTrue((yield* layout.verify()).ok)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scopedLive("an index.json over 16 MiB fails with ContentTooLarge before it is read, and is never written", () =>
    Effect.gen(function*() {
      const { layout, manifest, path } = yield* newLayout
      yield* layout.tag(manifest, "v1")
      const indexFile = nodePath.join(path, "index.json")
      const before = nodeFs.readFileSync(indexFile)

      // an update that would grow index.json past 16 MiB is refused, and index.json stays as it was
      const huge = { ...manifest, annotations: { "org.example.padding": "x".repeat(16 * MiB) } }
      const refused = yield* Effect.flip(layout.tag(huge, "huge"))
      assert.strictEqual(refused._tag, "ContentTooLarge")
      expect(refused.message).toContain("above the limit of 16777216 bytes")
      assert.deepStrictEqual(nodeFs.readFileSync(indexFile), before)

      // a sparse 17 MiB index.json: were it read, it would fail as InvalidIndex (NUL bytes are not JSON)
      nodeFs.truncateSync(indexFile, 17 * MiB)
      const error = yield* Effect.flip(layout.tags)
      assert.strictEqual(error._tag, "ContentTooLarge")
      if (error._tag !== "ContentTooLarge") return
      assert.strictEqual(error.limit, 16 * MiB)
      assert.strictEqual(error.size, 17 * MiB)
      expect(error.message).toContain("index.json of oci:")
      expect(error.message).toContain("17825792 bytes, above the limit of 16777216 bytes")
      const onUpdate = yield* Effect.flip(layout.tag(manifest, "v2"))
      assert.strictEqual(onUpdate._tag, "ContentTooLarge")
      assert.strictEqual(nodeFs.statSync(indexFile).size, 17 * MiB)
    }).pipe(Effect.provide(NodeContext.layer)))
})
