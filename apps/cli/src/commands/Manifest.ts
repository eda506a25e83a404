/**
 * `manifest`, `manifest put`, `digest`, `config`, `blob` (with `blob push`, `blob delete`), `inspect`.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { UsageError } from "../CliError.js"
import { format } from "../internal/formatOption.js"
import { describe, withOps } from "../internal/lazy.js"
import * as BlobCommands from "./Blob.js"

const reference = Args.text({ name: "reference" }).pipe(
  Args.withDescription("a registry reference: [registry/]repository[:tag][@digest]")
)

const put = Command.make(
  "put",
  {
    reference,
    file: Args.text({ name: "file" }).pipe(Args.withDescription("the manifest file, or - for stdin")),
    mediaType: Options.text("media-type").pipe(
      Options.withPseudoName("TYPE"),
      Options.withDescription("Content-Type to send (default: the manifest's mediaType field, else inferred)"),
      Options.optional
    )
  },
  (args) => withOps((ops, globals) => ops.manifestPut(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Upload a manifest or index and print its digest",
  examples: [
    "ocidist manifest put localhost:5000/app:1.0 manifest.json",
    "ocidist manifest localhost:5000/app:1.0 | ocidist manifest put localhost:5000/app:copy -"
  ]
})))

const runBlob = (reference: string, output: Option.Option<string>) =>
  withOps((ops, globals) => ops.blob(globals, { reference, output }))

const runManifest = (reference: string, pretty: boolean, format: Option.Option<string>) =>
  withOps((ops, globals) => ops.manifest(globals, { reference, pretty, format }))

/**
 * @since 0.1.0
 * @category commands
 */
export const manifest = Command.make(
  "manifest",
  {
    reference: Args.text({ name: "reference" }).pipe(
      Args.withDescription("a registry reference: [registry/]repository[:tag][@digest]"),
      Args.optional
    ),
    pretty: Options.boolean("pretty").pipe(Options.withDescription("indent the JSON (the digest no longer matches)")),
    format
  },
  ({ format, pretty, reference }) =>
    Option.match(reference, {
      onNone: () =>
        Effect.fail<UsageError | Effect.Effect.Error<ReturnType<typeof runManifest>>>(
          new UsageError({
            detail: "manifest needs a reference (ocidist manifest <ref>, or ocidist manifest put <ref> <file|->)"
          })
        ),
      onSome: (reference) => runManifest(reference, pretty, format)
    })
).pipe(
  Command.withDescription(describe({
    summary: "Print a manifest as the registry serves it",
    details: "Byte for byte: its bytes hash to its digest. With --platform and an index, the manifest of that " +
      "platform. To upload one: ocidist manifest put.",
    examples: [
      "ocidist manifest alpine:3.20",
      "ocidist manifest --pretty --platform linux/arm64 alpine:3.20",
      "ocidist manifest --json localhost:5000/app:1.0 | jq .digest",
      "ocidist manifest --format '{{.MediaType}} {{.Size}}' alpine:3.20"
    ]
  })),
  Command.withSubcommands([put])
)

/**
 * @since 0.1.0
 * @category commands
 */
export const digest = Command.make(
  "digest",
  {
    reference: Args.text({ name: "location" }).pipe(Args.withDescription("a registry reference or a local location")),
    format
  },
  (args) => withOps((ops, globals) => ops.digest(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Print the digest a reference or location names",
  details: "A HEAD request: no download, not counted by Docker Hub's rate limit. With --platform, the digest " +
    "of that platform's manifest.",
  examples: [
    "ocidist digest alpine:3.20",
    "ocidist digest --platform linux/arm64 alpine:3.20",
    "ocidist digest oci:./alpine:3.20",
    "ocidist digest --json localhost:5000/app:1.0"
  ]
})))

/**
 * @since 0.1.0
 * @category commands
 */
export const config = Command.make(
  "config",
  { reference },
  (args) => withOps((ops, globals) => ops.config(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Print an image's config blob",
  details: "For an index, the config of --platform (default: this machine's platform).",
  examples: ["ocidist config alpine:3.20", "ocidist config --platform linux/arm64 alpine:3.20 | jq .config.Env"]
})))

/**
 * @since 0.1.0
 * @category commands
 */
export const blob = Command.make(
  "blob",
  {
    // optional for the parser, so that `blob push` and `blob delete` reach their subcommands
    reference: Args.text({ name: "reference" }).pipe(
      Args.withDescription("repository@digest of the blob"),
      Args.optional
    ),
    output: Options.file("output").pipe(
      Options.withAlias("o"),
      Options.withDescription("write to this file (atomically: <file>.partial, renamed once verified)"),
      Options.optional
    )
  },
  ({ output, reference }) =>
    Option.match(reference, {
      onNone: () =>
        Effect.fail<UsageError | Effect.Effect.Error<ReturnType<typeof runBlob>>>(
          new UsageError({
            detail: "blob needs a reference (ocidist blob <repo@digest>, ocidist blob push <repo> <file|->, " +
              "or ocidist blob delete <repo@digest>)"
          })
        ),
      onSome: (reference) => runBlob(reference, output)
    })
).pipe(
  Command.withDescription(describe({
    summary: "Download a blob, verifying its digest",
    details:
      "Writes to stdout unless -o is given. To upload one: ocidist blob push; to delete one: ocidist blob delete.",
    examples: [
      "ocidist blob localhost:5000/app@sha256:… > layer.tar.gz",
      "ocidist blob -o layer.tar.gz localhost:5000/app@sha256:…",
      "ocidist blob push localhost:5000/app ./sbom.json"
    ]
  })),
  Command.withSubcommands([BlobCommands.push, BlobCommands.remove])
)

/**
 * @since 0.1.0
 * @category commands
 */
export const inspect = Command.make(
  "inspect",
  {
    reference: Args.text({ name: "location" }).pipe(Args.withDescription("a registry reference or a local location")),
    format
  },
  (args) => withOps((ops, globals) => ops.inspect(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Summarize an image or index: platforms, sizes, layers",
  details: "Also its creation time, entrypoint and labels.",
  examples: [
    "ocidist inspect alpine:3.20",
    "ocidist inspect --platform linux/arm64 alpine:3.20",
    "ocidist inspect oci:./alpine:3.20",
    "ocidist inspect --json localhost:5000/app:1.0 | jq .layers"
  ]
})))
