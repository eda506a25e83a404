// The facade's error union: tags unique across packages (catchTags compiles and dispatches), brands checked
// by the guards, never a plain object with a matching `_tag`.
import { assert, describe, it } from "@effect/vitest"
import { Credentials } from "@ocidist/auth"
import { RegistryError } from "@ocidist/distribution"
import { LayoutError } from "@ocidist/layout"
import { ReferenceError } from "@ocidist/reference"
import { SpecError } from "@ocidist/spec"
import { DockerRegistry, Fixtures, Tools } from "@ocidist/testing"
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { Ocidist, OcidistError } from "../src/index.js"
import * as NodeOcidist from "../src/NodeOcidist.js"

describe("OcidistError", () => {
  it.scopedLive("one catchTags over registry, layout, spec, reference and facade errors", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "basic" })
      const dir = yield* Tools.tempDir()
      yield* Fixtures.writeLayout(path.join(dir, "layout"), [{ tag: "1", root: yield* Fixtures.smallImage(dir) }])
      const layer = NodeOcidist.layer({
        cacheDirectory: path.join(dir, "cache"),
        credentials: { explicit: { [registry.host]: Credentials.basic("nobody", "wrong") }, sources: [] }
      })
      const outcome = (location: string) =>
        Ocidist.resolve(location).pipe(
          Effect.as("resolved"),
          Effect.catchTags({
            Unauthorized: (e) => Effect.succeed(`Unauthorized ${e.status}`),
            NotFound: (e) => Effect.succeed(`NotFound ${e.status}`),
            ImageNotFound: (e) => Effect.succeed(`ImageNotFound ${e.reference}`),
            NotALayout: (e) => Effect.succeed(`NotALayout ${path.basename(e.path)}`),
            InvalidLocation: (e) => Effect.succeed(`InvalidLocation ${e.input}`),
            InvalidManifest: (e) => Effect.succeed(`InvalidManifest ${e.reason}`),
            DigestMismatch: (e) => Effect.succeed(`DigestMismatch ${e.expected}`)
          }),
          Effect.provide(layer)
        )
      assert.strictEqual(yield* outcome(`${registry.host}/small:1`), "Unauthorized 401")
      assert.strictEqual(yield* outcome(`oci:${path.join(dir, "layout")}:2`), "ImageNotFound 2")
      assert.strictEqual(yield* outcome(`oci:${path.join(dir, "nowhere")}`), "NotALayout nowhere")
      assert.strictEqual(yield* outcome("Not A Reference"), "InvalidLocation Not A Reference")
      assert.strictEqual(yield* outcome(`oci:${path.join(dir, "layout")}:1`), "resolved")
    }))

  it.effect("guards test the brand of each package, not the tag", () =>
    Effect.gen(function*() {
      const invalid = yield* Effect.flip(Ocidist.resolve("Not A Reference").pipe(Effect.provide(NodeOcidist.layer())))
      assert.isTrue(OcidistError.isFacadeError(invalid))
      assert.isTrue(OcidistError.isOcidistError(invalid))
      assert.instanceOf(invalid.cause, ReferenceError.InvalidReference, "the reference error is kept as the cause")
      const samples = [
        new RegistryError.NotFound({
          registry: "r",
          operation: "manifests.get",
          method: "GET",
          status: 404,
          errors: [],
          target: "x"
        }),
        new LayoutError.ImageNotFound({ path: "/l", reference: "x", detail: "no entry" }),
        new SpecError.SizeMismatch({ subject: "blob", expected: 1, actual: 2 }),
        new ReferenceError.DigestMismatch({ expected: "a", actual: "b" })
      ]
      for (const error of samples) assert.isTrue(OcidistError.isOcidistError(error), error._tag)
      assert.isTrue(RegistryError.isRegistryError(samples[0]))
      assert.isFalse(RegistryError.isRegistryError(samples[1]))
      assert.isTrue(LayoutError.isLayoutError(samples[1]))
      assert.isFalse(LayoutError.isLayoutError(samples[2]))
      assert.isFalse(OcidistError.isOcidistError({ _tag: "NotFound" }))
      assert.isFalse(RegistryError.isRegistryError({ _tag: "NotFound" }))
    }))
})
