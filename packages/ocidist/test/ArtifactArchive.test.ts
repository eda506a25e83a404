// Artifact.push / attach straight into an oci-archive: a new archive, and an existing one holding an image
// (kept: skopeo still reads it), the artifact pulled back from the archive equal to its files, its referrers
// listed and validated there; a docker-archive and a file that is not an oci-archive refused, left untouched.
import { assert, describe, it } from "@effect/vitest"
import * as NodeRegistryClient from "@ocidist/distribution/NodeRegistryClient"
import { Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Artifact, Ocidist, Validate } from "../src/index.js"
import * as NodeCompression from "../src/NodeCompression.js"
import { nodeLayer, ocidistFor } from "./helpers.js"

const services = Layer.mergeAll(nodeLayer, NodeRegistryClient.layer(), NodeCompression.layer(), ocidistFor())

/** Two files and a directory with a nested file. */
const makeTree = (root: string) => {
  fs.mkdirSync(path.join(root, "chart", "templates"), { recursive: true })
  fs.writeFileSync(path.join(root, "sbom.json"), "{\"spdxVersion\":\"SPDX-2.3\"}")
  fs.writeFileSync(path.join(root, "blob.bin"), crypto.randomBytes(200_000))
  fs.writeFileSync(path.join(root, "chart", "Chart.yaml"), "name: demo\n")
  fs.writeFileSync(path.join(root, "chart", "templates", "svc.yaml"), "kind: Service\n")
}

/** Every file under `dir` (relative path → content, base64), sorted. */
const contents = (dir: string): Array<[string, string]> =>
  (fs.readdirSync(dir, { recursive: true }) as Array<string>)
    .filter((p) => fs.statSync(path.join(dir, p)).isFile())
    .map((p): [string, string] => [p.split(path.sep).join("/"), fs.readFileSync(path.join(dir, p)).toString("base64")])
    .sort(([a], [b]) => a.localeCompare(b))

const skopeoInspect = (location: string) =>
  Effect.map(Tools.skopeo(["inspect", "--raw", location]), (r) => {
    assert.strictEqual(r.exitCode, 0, r.stderr)
    return JSON.parse(r.stdout) as { layers: Array<{ digest: string }>; artifactType?: string }
  })

describe("Artifact.push into an oci-archive", () => {
  it.scopedLive("a new archive: the files pulled back from it are the same", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-artifact-archive-")
      const src = path.join(dir, "src")
      makeTree(src)
      const archive = path.join(dir, "new.tar")
      const files = ["sbom.json", "blob.bin", "chart"].map((f) => path.join(src, f))
      const pushed = yield* Artifact.push(`oci-archive:${archive}:files`, files, {
        artifactType: "application/vnd.example.files"
      })
      assert.strictEqual(pushed.location, `oci-archive:${archive}:files`)
      assert.deepStrictEqual(pushed.tags, ["files"])
      const raw = yield* skopeoInspect(`oci-archive:${archive}:files`)
      assert.strictEqual(raw.artifactType, "application/vnd.example.files")
      const out = path.join(dir, "out")
      const pulled = yield* Artifact.pull(`oci-archive:${archive}:files`, out)
      assert.strictEqual(pulled.digest, pushed.digest)
      assert.deepStrictEqual(contents(out), contents(src))
      // the same files into a layout: the same digest (nothing of the archive in the manifest)
      const again = yield* Artifact.push(`oci:${path.join(dir, "layout")}:files`, files, {
        artifactType: "application/vnd.example.files"
      })
      assert.strictEqual(again.digest, pushed.digest)
    }).pipe(Effect.provide(services)))

  it.scopedLive("an existing archive keeps its image; an attached signature is listed and validated there", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-artifact-archive-")
      const image = yield* Fixtures.makeImage(path.join(dir, "fixture"), {
        seed: "facade/artifact-archive",
        layers: [{ size: 3000 }]
      })
      const layout = path.join(dir, "layout")
      yield* Fixtures.writeLayout(layout, [{ root: image, tag: "v1" }])
      const archive = path.join(dir, "bundle.tar")
      yield* Ocidist.copy(`oci:${layout}:v1`, `oci-archive:${archive}:app`)
      const src = path.join(dir, "src")
      makeTree(src)
      const sbom = yield* Artifact.push(`oci-archive:${archive}:sbom`, [path.join(src, "sbom.json")])
      // the image is still there, the artifact beside it
      const kept = yield* skopeoInspect(`oci-archive:${archive}:app`)
      assert.deepStrictEqual(kept.layers.map((l) => l.digest), image.layers.map((l) => l.digest))
      assert.strictEqual((yield* Ocidist.resolve(`oci-archive:${archive}:app`)).digest, image.manifestDigest)
      assert.sameMembers([...(yield* Ocidist.tags(`oci-archive:${archive}`))], ["app", "sbom"])
      const out = path.join(dir, "out")
      yield* Artifact.pull(`oci-archive:${archive}:sbom`, out)
      assert.deepStrictEqual(contents(out), [["sbom.json", contents(src).find(([p]) => p === "sbom.json")![1]]])
      // pushed again under the same tag: replaced, not duplicated
      yield* Artifact.push(`oci-archive:${archive}:sbom`, [path.join(src, "blob.bin")])
      assert.sameMembers([...(yield* Ocidist.tags(`oci-archive:${archive}`))], ["app", "sbom"])
      // attach to the image in the archive: a referrer there, checked by Validate with referrers
      const sig = yield* Artifact.attach(`oci-archive:${archive}:app`, [path.join(src, "chart")], {
        artifactType: "application/vnd.example.sig"
      })
      assert.strictEqual(sig.subject?.digest, image.manifestDigest)
      const referrers = yield* Ocidist.referrers(`oci-archive:${archive}:app`)
      assert.deepStrictEqual(referrers.map((r) => r.digest), [sig.digest])
      const validated = yield* Validate.validate(`oci-archive:${archive}:app`, { referrers: true })
      assert.deepStrictEqual(validated.problems, [])
      assert.strictEqual(validated.referrers, 1)
      assert.strictEqual(sbom.tags[0], "sbom")
    }).pipe(Effect.provide(services)))

  it.scopedLive("refused: a docker-archive, a file that is not an oci-archive, a missing subject (left untouched)", () =>
    Effect.gen(function*() {
      const dir = yield* Tools.tempDir("ocidist-artifact-archive-")
      const file = path.join(dir, "a.txt")
      fs.writeFileSync(file, "a\n")
      const docker = yield* Effect.either(Artifact.push(`docker-archive:${path.join(dir, "d.tar")}`, [file]))
      assert.isTrue(Either.isLeft(docker) && docker.left._tag === "UnsupportedOperation")
      assert.isFalse(fs.existsSync(path.join(dir, "d.tar")))
      const notArchive = path.join(dir, "notes.tar")
      fs.writeFileSync(notArchive, "not a tar at all\n")
      const refused = yield* Effect.either(Artifact.push(`oci-archive:${notArchive}:x`, [file]))
      assert.isTrue(Either.isLeft(refused))
      assert.strictEqual(fs.readFileSync(notArchive, "utf8"), "not a tar at all\n")
      const archive = path.join(dir, "one.tar")
      yield* Artifact.push(`oci-archive:${archive}:one`, [file])
      const before = fs.readFileSync(archive)
      const missing = yield* Effect.either(Artifact.attach(`oci-archive:${archive}:nope`, [file]))
      assert.isTrue(Either.isLeft(missing) && missing.left._tag === "ImageNotFound")
      assert.isTrue(fs.readFileSync(archive).equals(before))
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ["a.txt", "notes.tar", "one.tar"])
    }).pipe(Effect.provide(services)))
})
