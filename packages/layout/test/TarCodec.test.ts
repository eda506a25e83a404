// The tar codec (src/Tar.ts): round trips of long names, big sizes and PAX records; strict reading (checksums,
// truncation, malformed PAX, oversized extended headers); and GNU tar as the other side: `tar -tvf` lists what
// we write, and we read what `tar --format=pax|gnu` writes.
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Tar from "../src/Tar.js"

const text = new TextEncoder()

/** A whole archive: entries with data (headers from `Tar.encode`), then the end blocks. */
const archive = (entries: ReadonlyArray<Tar.EntryInput & { readonly data?: string }>): Uint8Array =>
  Buffer.concat([
    ...entries.flatMap((e) => {
      const data = text.encode(e.data ?? "")
      const { data: _, ...input } = e
      return data.length > 0 ?
        [Tar.encode({ ...input, size: data.length }), data, Tar.padding(data.length)] :
        [Tar.encode(input)]
    }),
    Tar.end()
  ])

/** Reads an archive fed in chunks of `chunk` bytes: the headers, and each entry's data as text. */
const read = (bytes: Uint8Array, chunk = 4096) => {
  const reader = new Tar.Reader()
  const events: Array<Tar.Event> = []
  for (let i = 0; i < bytes.length; i += chunk) {
    const error = reader.push(bytes.subarray(i, Math.min(bytes.length, i + chunk)), events)
    if (error !== undefined) return Either.left(error)
  }
  const error = reader.finish()
  if (error !== undefined) return Either.left(error)
  const out: Array<{ header: Tar.Header; data: string }> = []
  for (const e of events) {
    if (e._tag === "Entry") out.push({ header: e.header, data: "" })
    else out[out.length - 1]!.data += new TextDecoder().decode(e.bytes)
  }
  return Either.right(out)
}

const readOk = (bytes: Uint8Array, chunk?: number) => Either.getOrThrow(read(bytes, chunk))

const readError = (bytes: Uint8Array): string => {
  const result = read(bytes)
  assert.isTrue(Either.isLeft(result), "expected a failure")
  return Either.isLeft(result) ? result.left : ""
}

const withDir = <A>(f: (dir: string) => A): A => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "layout-tar-codec-"))
  try {
    return f(dir)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const name101 = `${"a".repeat(101)}`
const name300 = `${"d".repeat(120)}/${"e".repeat(120)}/${"f".repeat(60)}`
const deep = `${"p".repeat(150)}/${"n".repeat(90)}`

describe("Tar", () => {
  it("round-trips names over 100 and 255 bytes, long link targets, ids, times and PAX records", () => {
    const entries = [
      { path: "short", data: "s", mode: 0o600, uid: 1000, gid: 100, uname: "me", gname: "us", mtime: 1700000000 },
      { path: name101, data: "101" },
      { path: deep, data: "ustar prefix" },
      { path: name300, data: "pax path" },
      { path: "ünïcödé/名前".repeat(12), data: "utf-8" },
      { path: "dir", typeflag: "5" },
      { path: "sym", typeflag: "2", linkname: name300 },
      { path: "hard", typeflag: "1", linkname: name300 },
      { path: "big-ids", uid: 0o10000000, gid: 5_000_000_000, uname: "u".repeat(40), mtime: 1.5 },
      { path: "xattr", extra: [["SCHILY.xattr.user.k", "v"], ["comment", "ok"]] as const },
      { path: "dev", typeflag: "3", devmajor: 1, devminor: 3 }
    ]
    const bytes = archive(entries)
    const got = readOk(bytes)
    // any chunking reads the same
    assert.deepStrictEqual(readOk(bytes, 1), got)
    assert.deepStrictEqual(readOk(bytes, 777), got)
    assert.deepStrictEqual(got.map((e) => e.header.path), [
      "short",
      name101,
      deep,
      name300,
      "ünïcödé/名前".repeat(12),
      "dir/",
      "sym",
      "hard",
      "big-ids",
      "xattr",
      "dev"
    ])
    assert.deepStrictEqual(got.map((e) => e.data), [
      "s",
      "101",
      "ustar prefix",
      "pax path",
      "utf-8",
      "",
      "",
      "",
      "",
      "",
      ""
    ])
    const byPath = new Map(got.map((e) => [e.header.path, e.header]))
    assert.deepInclude(byPath.get("short"), {
      mode: 0o600,
      uid: 1000,
      gid: 100,
      uname: "me",
      gname: "us",
      mtime: 1700000000
    })
    assert.strictEqual(byPath.get("sym")!.linkname, name300)
    assert.deepInclude(byPath.get("hard"), { typeflag: "1", linkname: name300, size: 0 })
    assert.deepInclude(byPath.get("big-ids"), {
      uid: 0o10000000,
      gid: 5_000_000_000,
      uname: "u".repeat(40),
      mtime: 1.5
    })
    assert.deepStrictEqual(byPath.get("xattr")!.extra, [["SCHILY.xattr.user.k", "v"], ["comment", "ok"]])
    assert.deepInclude(byPath.get("dev"), { typeflag: "3", devmajor: 1, devminor: 3 })
    assert.deepInclude(byPath.get("dir/"), { typeflag: "5", mode: 0o755 })
  })

  it("a size over 8 GiB goes in a PAX record; headers are whole blocks", () => {
    const size = 2 ** 36 + 5
    const header = Tar.encode({ path: "big", size })
    assert.strictEqual(header.length % Tar.BLOCK, 0)
    assert.strictEqual(header.length, 3 * Tar.BLOCK)
    const events: Array<Tar.Event> = []
    assert.isUndefined(new Tar.Reader().push(header, events))
    assert.deepInclude((events[0] as { header: Tar.Header }).header, { path: "big", size })
    // base-256 sizes (GNU) are read too
    const gnu = Tar.encode({ path: "g", size: 0 })
    gnu.fill(0, 124, 136)
    gnu[124] = 0x80
    gnu[131] = 0x01 // 2^32
    gnu.fill(0x20, 148, 156)
    let sum = 0
    for (const b of gnu) sum += b
    gnu.set(text.encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148)
    const decoded = new Tar.Decoder().decode(gnu)
    assert.deepInclude(Either.getOrThrow(decoded), { _tag: "Entry" })
    assert.strictEqual((Either.getOrThrow(decoded) as { header: Tar.Header }).header.size, 2 ** 32)
    assert.strictEqual(Tar.padding(1).length, 511)
    assert.strictEqual(Tar.padding(512).length, 0)
    assert.strictEqual(Tar.end().length, 1024)
  })

  it("PAX records: lengths that count themselves, strict parsing", () => {
    for (const value of ["", "x", "x".repeat(90), "x".repeat(994), "é".repeat(500)]) {
      const record = Tar.paxRecord("path", value)
      assert.strictEqual(text.encode(record).length, parseInt(record, 10))
      assert.deepStrictEqual(Tar.parsePax(text.encode(record)), new Map([["path", value]]))
    }
    assert.isUndefined(Tar.parsePax(text.encode("99 path=x\n")))
    assert.isUndefined(Tar.parsePax(text.encode("8 path=x\n")))
    assert.isUndefined(Tar.parsePax(text.encode("11 noequals\n")))
    // NUL padding after the records is ignored
    assert.deepStrictEqual(
      Tar.parsePax(Buffer.concat([text.encode("10 path=x\n"), new Uint8Array(5)])),
      new Map([["path", "x"]])
    )
  })

  it("rejects bad checksums, truncated archives, malformed PAX headers and huge extended headers", () => {
    const good = archive([{ path: "x", data: "x".repeat(2000) }])
    const bad = Uint8Array.from(good)
    bad[0] = 0x79
    assert.match(readError(bad), /bad header checksum at byte 0 \(not a tar stream\?\)/)
    const second = archive([{ path: "a", data: "a" }, { path: "b", data: "b" }])
    second[1024 + 1] ^= 0x01
    assert.match(readError(second), /bad header checksum at byte 1024$/)
    assert.match(readError(good.subarray(0, 1000)), /ends inside an entry/)
    assert.match(readError(good.subarray(0, 300)), /ends inside a header/)
    // an extended header with no entry after it
    const paxOnly = Tar.encode({ path: name300 }).subarray(0, 2 * Tar.BLOCK)
    assert.match(readError(paxOnly), /after an extended header/)
    // a malformed PAX record
    const malformed = Buffer.concat([
      Tar.encode({ path: "PaxHeaders/x", typeflag: "x", size: 10 }),
      Buffer.concat([text.encode("99 path=x\n"), Tar.padding(10)]),
      archive([{ path: "x" }])
    ])
    assert.match(readError(malformed), /malformed PAX header at byte 0/)
    // an extended header over MAX_META
    const huge = Tar.encode({ path: "PaxHeaders/x", typeflag: "x", size: Tar.MAX_META + 1 })
    assert.match(readError(huge), /extended header of 1048577 bytes/)
    // a bad numeric field
    const mode = Tar.encode({ path: "m" })
    mode.set(text.encode("9999999"), 100)
    assert.isTrue(Either.isLeft(new Tar.Decoder().decode(mode)))
    // no end blocks at an entry boundary: accepted (as Go's archive/tar)
    assert.strictEqual(readOk(good.subarray(0, good.length - 1024)).length, 1)
  })

  it.effect("events: a byte stream as events; a malformed one fails where it breaks, reading no further", () =>
    Effect.gen(function*() {
      const bytes = archive([{ path: "a", data: "alpha" }, { path: "b", typeflag: "5" }])
      const events = yield* Stream.runCollect(
        Tar.events((d) => d)(Stream.make(bytes.subarray(0, 700), bytes.subarray(700)))
      )
      assert.deepStrictEqual(Chunk.toReadonlyArray(events).map((e) => e._tag), ["Entry", "Data", "Entry"])
      let pulled = 0
      const bad = bytes.slice(1024, 1536).fill(7)
      const broken = Stream.tap(
        Stream.rechunk(Stream.make(bytes.subarray(0, 1024), bad, bytes.subarray(1536), bytes.subarray(1536)), 1),
        () => Effect.sync(() => pulled++)
      )
      const failure = yield* Effect.flip(Stream.runDrain(Tar.events((d) => `invalid: ${d}`)(broken)))
      assert.match(failure, /^invalid: bad header checksum/)
      assert.strictEqual(pulled, 2)
      const truncated = Stream.make(bytes.subarray(0, 1000))
      const early = yield* Effect.flip(Stream.runDrain(Tar.events((d) => `invalid: ${d}`)(truncated)))
      assert.match(early, /^invalid: the stream ends inside/)
    }))

  it("GNU tar lists what we write", () =>
    withDir((dir) => {
      const file = path.join(dir, "ours.tar")
      fs.writeFileSync(
        file,
        archive([
          { path: "dir", typeflag: "5" },
          { path: name101, data: "101" },
          { path: name300, data: "pax" },
          { path: "sym", typeflag: "2", linkname: name300 },
          { path: "hard", typeflag: "1", linkname: name300 },
          { path: "exec", mode: 0o755, data: "#!/bin/sh\n", uid: 3000000, gid: 7, mtime: 1700000000 }
        ])
      )
      const listing = execFileSync("tar", ["-tvf", file, "--numeric-owner", "--utc"], { encoding: "utf8" })
        .split("\n").filter((l) => l !== "").map((l) => {
          const f = l.split(/\s+/)
          return `${f[0]} ${f[1]} ${f[2]} ${f.slice(5).join(" ")}`
        })
      assert.deepStrictEqual(listing, [
        "drwxr-xr-x 0/0 0 dir/",
        `-rw-r--r-- 0/0 3 ${name101}`,
        `-rw-r--r-- 0/0 3 ${name300}`,
        `lrw-r--r-- 0/0 0 sym -> ${name300}`,
        `hrw-r--r-- 0/0 0 hard link to ${name300}`,
        "-rwxr-xr-x 3000000/7 10 exec"
      ])
      // and extracts it: contents and the hard link
      const root = path.join(dir, "root")
      fs.mkdirSync(root)
      execFileSync("tar", ["-xf", file, "-C", root])
      assert.strictEqual(fs.readFileSync(path.join(root, name300), "utf8"), "pax")
      assert.strictEqual(fs.statSync(path.join(root, "hard")).ino, fs.statSync(path.join(root, name300)).ino)
    }))

  it("we read what GNU tar writes (--format=pax and --format=gnu)", () =>
    withDir((dir) => {
      const src = path.join(dir, "src")
      const long = path.join(src, "d".repeat(120), "e".repeat(120))
      fs.mkdirSync(long, { recursive: true })
      fs.writeFileSync(path.join(long, "f".repeat(150)), "deep")
      fs.writeFileSync(path.join(src, "plain"), "p")
      fs.symlinkSync("x".repeat(150), path.join(src, "sym"))
      fs.linkSync(path.join(src, "plain"), path.join(src, "hard"))
      const deepName = `${"d".repeat(120)}/${"e".repeat(120)}/${"f".repeat(150)}`
      for (const format of ["pax", "gnu"]) {
        const file = path.join(dir, `${format}.tar`)
        execFileSync("tar", [`--format=${format}`, "--sort=name", "-cf", file, "-C", src, "."])
        const got = readOk(fs.readFileSync(file), 999)
        const byPath = new Map(got.map((e) => [e.header.path.replace(/^\.\//, ""), e]))
        assert.strictEqual(byPath.get(deepName)?.data, "deep", format)
        assert.strictEqual(byPath.get(`${"d".repeat(120)}/`)?.header.typeflag, "5", format)
        assert.deepInclude(byPath.get("sym")?.header, { typeflag: "2", linkname: "x".repeat(150) }, format)
        const [first, second] = [byPath.get("hard")!, byPath.get("plain")!].sort((a, b) =>
          a.header.typeflag.localeCompare(b.header.typeflag)
        )
        assert.strictEqual(first!.data, "p", format)
        assert.deepInclude(second!.header, { typeflag: "1" }, format)
      }
    }))
})
