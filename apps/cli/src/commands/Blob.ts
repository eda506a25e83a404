/**
 * `blob push`, `blob delete` (subcommands of `blob`, whose own form downloads a blob: see Manifest.ts).
 *
 * @since 0.5.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { describe, withOps } from "../internal/lazy.js"

/**
 * @since 0.5.0
 * @category commands
 */
export const push = Command.make(
  "push",
  {
    repository: Args.text({ name: "repository" }).pipe(
      Args.withDescription("a registry repository ([registry/]repository) or an OCI layout (oci:DIR)")
    ),
    file: Args.text({ name: "file" }).pipe(Args.withDescription("the file to upload, or - for stdin")),
    mediaType: Options.text("media-type").pipe(
      Options.withPseudoName("TYPE"),
      Options.withDescription("the media type of the descriptor printed (default application/octet-stream)"),
      Options.optional
    )
  },
  (args) => withOps((ops, globals) => ops.blobPush(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Upload a blob and print its descriptor",
  details: "stdin is spooled to a temporary file while it is hashed (its digest is known only at its end). " +
    "A blob the repository has already is not uploaded again.",
  examples: [
    "ocidist blob push localhost:5000/app ./sbom.json",
    "tar c dir | ocidist blob push --media-type application/vnd.oci.image.layer.v1.tar localhost:5000/app -",
    "ocidist blob push oci:./layout ./config.json"
  ]
})))

/**
 * @since 0.5.0
 * @category commands
 */
export const remove = Command.make(
  "delete",
  {
    reference: Args.text({ name: "reference" }).pipe(
      Args.withDescription("repository@digest, or oci:DIR@digest")
    ),
    force: Options.boolean("force").pipe(
      Options.withDescription("in a layout: delete it even though manifests use it")
    )
  },
  (args) => withOps((ops, globals) => ops.blobDelete(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Delete a blob",
  details: "A registry DELETE (the registry must allow deletes). In an OCI layout, a blob that a manifest " +
    "uses is not deleted unless --force.",
  examples: [
    "ocidist blob delete localhost:5000/app@sha256:…",
    "ocidist blob delete oci:./layout@sha256:…"
  ]
})))
