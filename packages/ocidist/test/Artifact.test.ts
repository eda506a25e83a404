// Artifact.push / pull / attach against a real registry (Debian docker-registry: no referrers API, so the
// sha256-<hex> tag fallback) and OCI layouts; skopeo reads what is pushed; hostile artifacts crafted here.
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import * as Layout from "@ocidist/layout/Layout"
import * as NodeHash from "@ocidist/reference/NodeHash"
import * as Manifest from "@ocidist/spec/Manifest"
import * as Storage from "@ocidist/spec/Storage"
import { DockerRegistry, Tar, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { Artifact, Ocidist } from "../src/index.js"
import * as NodeCompression from "../src/NodeCompression.js"
import { ocidistFor } from "./helpers.js"

const services = Layer.mergeAll(NodeRegistryClient.layer(), NodeContext.layer, NodeHash.layer, NodeCompression.layer())

const sha256 = (bytes: Uint8Array) => `sha256:${crypto.createHash("sha256").update(bytes).digest("hex")}`

/** A tree of files to push: two files, and a directory with a nested file and a symlink inside it. */
const makeTree = (root: string) => {
  fs.mkdirSync(path.join(root, "dir", "sub"), { recursive: true })
  fs.writeFileSync(path.join(root, "a.txt"), "hello artifact\n")
  fs.writeFileSync(path.join(root, "b.bin"), crypto.randomBytes(300_000))
  fs.writeFileSync(path.join(root, "dir", "sub", "c.txt"), "nested\n")
  fs.chmodSync(path.join(root, "dir", "sub", "c.txt"), 0o600)
  fs.symlinkSync("sub/c.txt", path.join(root, "dir", "link"))
}

/** One tar entry: header and data blocks. */
const tarEntry = (name: string, type: string, data?: Uint8Array, linkname?: string) =>
  Tar.entry({ name, type, data, linkname })

const tarOf = Tar.archive

/** Writes a hand-made artifact (layers given as bytes with annotations) into a layout under `tag`. */
const craft = (
  dir: string,
  tag: string,
  layers: ReadonlyArray<
    { readonly bytes: Uint8Array; readonly mediaType: string; readonly annotations: Record<string, string> }
  >
) =>
  Effect.gen(function*() {
    const layout = yield* Layout.openOrCreate(dir)
    const empty = { mediaType: "application/vnd.oci.empty.v1+json", digest: sha256(Buffer.from("{}")), size: 2 }
    yield* layout.pushBlob(empty as never, Storage.fromBytes(Buffer.from("{}")))
    const descriptors = []
    for (const l of layers) {
      const d = { mediaType: l.mediaType, digest: sha256(l.bytes), size: l.bytes.length, annotations: l.annotations }
      yield* layout.pushBlob(d as never, Storage.fromBytes(l.bytes))
      descriptors.push(d)
    }
    const bytes = Manifest.encode({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: "application/vnd.example.evil",
      config: empty,
      layers: descriptors
    } as never)
    const manifest = Either.getOrThrow(Manifest.decode(bytes))
    yield* layout.pushManifest(manifest, { tags: [tag], root: true })
  }).pipe(Effect.provide(Layer.merge(NodeContext.layer, NodeHash.layer)))

/** Every path under `dir` (relative), sorted. */
const listTree = (dir: string): Array<string> =>
  (fs.readdirSync(dir, { recursive: true }) as Array<string>).map((p) => p.split(path.sep).join("/")).sort()

describe("Artifact", () => {
  it.scopedLive("push files and a directory to a registry and a layout, pull them back; same files, same digest", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const src = path.join(dir, "src")
      makeTree(src)
      const files = [
        path.join(src, "a.txt"),
        { path: path.join(src, "b.bin"), mediaType: "application/x-b" },
        path.join(src, "dir")
      ]
      const pushed = yield* Artifact.push(`${registry.host}/files:1`, files, {
        artifactType: "application/vnd.example.files",
        annotations: { "org.example.k": "v" }
      }).pipe(Effect.provide(services))
      const m = pushed.manifest
      assert.strictEqual(m.artifactType, "application/vnd.example.files")
      assert.strictEqual(m.config.mediaType, "application/vnd.oci.empty.v1+json")
      assert.deepStrictEqual(m.annotations, { "org.example.k": "v" })
      assert.deepStrictEqual(m.layers.map((l) => [l.mediaType, l.annotations?.["org.opencontainers.image.title"]]), [
        ["application/vnd.oci.image.layer.v1.tar", "a.txt"],
        ["application/x-b", "b.bin"],
        ["application/vnd.oci.image.layer.v1.tar+gzip", "dir"]
      ])
      const dirLayer = m.layers[2]!
      assert.strictEqual(dirLayer.annotations?.["io.deis.oras.content.unpack"], "true")
      assert.strictEqual(pushed.blobsPushed, 4)

      // skopeo reads the artifact manifest as pushed
      const raw = yield* Tools.skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/files:1`])
      assert.strictEqual(raw.exitCode, 0, raw.stderr)
      assert.strictEqual(sha256(Buffer.from(raw.stdout.trim())), pushed.digest)
      assert.deepStrictEqual(JSON.parse(raw.stdout), m)

      // reproducible: again (other tag, a touched mtime), and into a layout
      fs.utimesSync(path.join(src, "dir", "sub", "c.txt"), new Date(2001, 1, 1), new Date(2001, 1, 1))
      const again = yield* Artifact.push(`${registry.host}/files:2`, files, {
        artifactType: "application/vnd.example.files",
        annotations: { "org.example.k": "v" }
      }).pipe(Effect.provide(services))
      assert.strictEqual(again.digest, pushed.digest)
      assert.strictEqual(again.blobsPushed, 0)
      const layout = path.join(dir, "layout")
      const local = yield* Artifact.push(`oci:${layout}:files`, files, {
        artifactType: "application/vnd.example.files",
        annotations: { "org.example.k": "v" }
      }).pipe(Effect.provide(services))
      assert.strictEqual(local.digest, pushed.digest)

      // pull from both: the same files, the directory unpacked with its symlink and modes
      for (const from of [`${registry.host}/files:1`, `oci:${layout}:files`]) {
        const out = path.join(dir, `out-${from === `oci:${layout}:files` ? "layout" : "registry"}`)
        const pulled = yield* Artifact.pull(from, out).pipe(Effect.provide(services))
        assert.strictEqual(pulled.digest, pushed.digest)
        assert.deepStrictEqual(pulled.files.map((f) => [f.title, f.unpacked]), [
          ["a.txt", false],
          ["b.bin", false],
          ["dir", true]
        ])
        assert.deepStrictEqual(listTree(out), ["a.txt", "b.bin", "dir", "dir/link", "dir/sub", "dir/sub/c.txt"])
        assert.deepStrictEqual(fs.readFileSync(path.join(out, "b.bin")), fs.readFileSync(path.join(src, "b.bin")))
        assert.strictEqual(fs.readlinkSync(path.join(out, "dir", "link")), "sub/c.txt")
        assert.strictEqual(fs.readFileSync(path.join(out, "dir", "link"), "utf8"), "nested\n")
        assert.strictEqual(fs.statSync(path.join(out, "dir", "sub", "c.txt")).mode & 0o777, 0o600)
        // no temporary file left behind
        assert.isFalse(listTree(out).some((p) => p.includes(".ocidist-")))
      }
    }).pipe(Effect.provide(ocidistFor())))

  it.scopedLive("the directory tar is reproducible and holds dir/… entries with zero times and owners", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const src = path.join(dir, "src")
      makeTree(src)
      const layout = path.join(dir, "layout")
      const pushed = yield* Artifact.push(`oci:${layout}:d`, [path.join(src, "dir")]).pipe(Effect.provide(services))
      assert.strictEqual(pushed.artifactType, "application/vnd.unknown.artifact.v1")
      const layer = pushed.manifest.layers[0]!
      const gz = fs.readFileSync(path.join(layout, "blobs", "sha256", layer.digest.slice(7)))
      const tar = zlib.gunzipSync(gz)
      assert.strictEqual(sha256(tar), layer.annotations?.["io.deis.oras.content.digest"])
      const names: Array<string> = []
      for (let at = 0; at + 512 <= tar.length;) {
        const h = tar.subarray(at, at + 512)
        if (h.every((b) => b === 0)) break
        names.push(h.subarray(0, 100).toString("utf8").replace(/\0.*$/s, ""))
        assert.strictEqual(h.subarray(136, 147).toString(), "00000000000", "mtime 0")
        assert.strictEqual(h.subarray(108, 115).toString(), "0000000", "uid 0")
        const size = parseInt(h.subarray(124, 135).toString(), 8)
        at += 512 + Math.ceil(size / 512) * 512
      }
      assert.deepStrictEqual(names, ["dir/", "dir/link", "dir/sub/", "dir/sub/c.txt"])
      // tar(1) reads it
      const listed = yield* Tools.run("tar", ["-tzf", path.join(layout, "blobs", "sha256", layer.digest.slice(7))])
      assert.deepStrictEqual(listed.stdout.trim().split("\n"), names)
    }))

  it.scopedLive("subject: attach to a registry manifest (tag fallback) and a layout's; referrers list them", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      const dir = yield* Tools.tempDir()
      const file = path.join(dir, "sbom.json")
      fs.writeFileSync(file, "{\"spdxVersion\":\"SPDX-2.3\"}")
      const layout = path.join(dir, "layout")
      for (const target of [`${registry.host}/app:1`, `oci:${layout}:app`]) {
        const subject = yield* Artifact.push(target, [file]).pipe(Effect.provide(services))
        const attached = yield* Artifact.attach(target, [{ path: file, mediaType: "application/spdx+json" }], {
          artifactType: "application/spdx+json"
        }).pipe(Effect.provide(services))
        assert.strictEqual(attached.subject?.digest, subject.digest)
        assert.deepStrictEqual(attached.tags, [])
        const referrers = yield* Ocidist.referrers(target)
        assert.deepStrictEqual(referrers.map((r) => [r.digest, r.artifactType]), [[
          attached.digest,
          "application/spdx+json"
        ]])
        // --subject with a digest, through push
        const second = yield* Artifact.push(target.replace(/:(1|app)$/, ":sig"), [file], {
          artifactType: "application/vnd.example.sig",
          subject: subject.digest
        }).pipe(Effect.provide(services))
        const both = yield* Ocidist.referrers(target)
        assert.sameMembers(both.map((r) => r.digest), [attached.digest, second.digest])
      }
      // the fallback index tag of the registry (no referrers API there)
      const tags = yield* Ocidist.tags(`${registry.host}/app`)
      assert.isTrue(tags.some((t) => t.startsWith("sha256-")))
    }).pipe(Effect.provide(ocidistFor())))

  it.scopedLive("annotations by file (oras's annotation file shape), a config file, and duplicate titles refused", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const src = path.join(dir, "src")
      makeTree(src)
      fs.writeFileSync(path.join(dir, "config.json"), "{\"x\":1}")
      const pushed = yield* Artifact.push(`oci:${path.join(dir, "layout")}:1`, [path.join(src, "a.txt")], {
        fileAnnotations: {
          $manifest: { "org.example.m": "1" },
          $config: { "org.example.c": "2" },
          "a.txt": { "org.example.f": "3" }
        },
        annotations: { "org.example.m2": "4" },
        config: { path: path.join(dir, "config.json"), mediaType: "application/vnd.example.config+json" }
      }).pipe(Effect.provide(services))
      const m = pushed.manifest
      assert.deepStrictEqual(m.annotations, { "org.example.m": "1", "org.example.m2": "4" })
      assert.deepStrictEqual(m.config.annotations, { "org.example.c": "2" })
      assert.strictEqual(m.config.mediaType, "application/vnd.example.config+json")
      assert.isUndefined(m.artifactType)
      assert.strictEqual(m.layers[0]!.annotations?.["org.example.f"], "3")
      const dup = yield* Effect.flip(
        Artifact.push(`oci:${path.join(dir, "layout")}:2`, [path.join(src, "a.txt"), path.join(src, "a.txt")]).pipe(
          Effect.provide(services)
        )
      )
      assert.strictEqual(dup._tag, "InvalidArtifact")
    }))

  it.scopedLive("hostile artifacts: titles and tar entries that escape fail, nothing is written outside", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir()
      const layout = path.join(dir, "evil")
      const text = Buffer.from("pwned\n")
      const plain = (title: string) => ({
        bytes: text,
        mediaType: "application/vnd.oci.image.layer.v1.tar",
        annotations: { "org.opencontainers.image.title": title }
      })
      const unpacked = (title: string, tar: Uint8Array) => ({
        bytes: zlib.gzipSync(tar),
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        annotations: { "org.opencontainers.image.title": title, "io.deis.oras.content.unpack": "true" }
      })
      yield* craft(layout, "dotdot", [plain("../x")])
      yield* craft(layout, "absolute", [plain("/tmp/ocidist-evil-absolute")])
      yield* craft(layout, "nested-dotdot", [plain("a/../../x")])
      yield* craft(layout, "tar-dotdot", [
        unpacked("d", tarOf([tarEntry("d/", "5"), tarEntry("d/../../x", "0", text)]))
      ])
      yield* craft(layout, "tar-absolute", [unpacked("d", tarOf([tarEntry("/tmp/ocidist-evil-tar", "0", text)]))])
      yield* craft(layout, "tar-outside-prefix", [unpacked("d", tarOf([tarEntry("other/x", "0", text)]))])
      yield* craft(layout, "symlink-out", [
        unpacked("d", tarOf([tarEntry("d/", "5"), tarEntry("d/l", "2", new Uint8Array(0), "../../..")]))
      ])
      yield* craft(layout, "symlink-then-write", [
        unpacked(
          "d",
          tarOf([tarEntry("d/", "5"), tarEntry("d/l", "2", new Uint8Array(0), "/tmp"), tarEntry("d/l/x", "0", text)])
        )
      ])
      yield* craft(layout, "hardlink-out", [
        unpacked("d", tarOf([tarEntry("d/", "5"), tarEntry("d/h", "1", new Uint8Array(0), "../etc/passwd")]))
      ])
      const root = path.join(dir, "pull")
      const outside = path.join(dir, "outside")
      fs.mkdirSync(outside)
      const tags = [
        "dotdot",
        "absolute",
        "nested-dotdot",
        "tar-dotdot",
        "tar-absolute",
        "tar-outside-prefix",
        "symlink-out",
        "symlink-then-write",
        "hardlink-out"
      ]
      for (const tag of tags) {
        const out = path.join(root, tag)
        const error = yield* Effect.flip(Artifact.pull(`oci:${layout}:${tag}`, out).pipe(Effect.provide(services)))
        assert.strictEqual(error._tag, "InvalidArtifact", `${tag}: ${error.message}`)
        // nothing but the (empty) destination itself
        assert.deepStrictEqual(listTree(out), [], tag)
      }
      assert.deepStrictEqual(listTree(dir).filter((p) => !p.startsWith("evil/")), [
        "evil",
        "outside",
        "pull",
        ...tags.map((t) => `pull/${t}`).sort()
      ])
      assert.isFalse(fs.existsSync("/tmp/ocidist-evil-absolute"))
      assert.isFalse(fs.existsSync("/tmp/ocidist-evil-tar"))

      // a symlink already in the destination is not written through
      const trap = path.join(root, "trap")
      fs.mkdirSync(trap, { recursive: true })
      fs.symlinkSync(outside, path.join(trap, "a"))
      yield* craft(layout, "through-link", [plain("a/x")])
      const error = yield* Effect.flip(Artifact.pull(`oci:${layout}:through-link`, trap).pipe(Effect.provide(services)))
      assert.strictEqual(error._tag, "InvalidArtifact")
      assert.deepStrictEqual(fs.readdirSync(outside), [])

      // a device entry is skipped; the rest is unpacked
      yield* craft(layout, "device", [
        unpacked("d", tarOf([tarEntry("d/", "5"), tarEntry("d/null", "3"), tarEntry("d/ok", "0", text)]))
      ])
      const fine = path.join(root, "device")
      yield* Artifact.pull(`oci:${layout}:device`, fine).pipe(Effect.provide(services))
      assert.deepStrictEqual(listTree(fine), ["d", "d/ok"])
    }))
})
