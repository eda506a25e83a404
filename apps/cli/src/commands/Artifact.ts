/**
 * `artifact push`, `artifact pull`, `attach`, `discover`: files as OCI artifacts, as oras does it.
 *
 * @since 0.5.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { format } from "../internal/formatOption.js"
import { describe, withOps } from "../internal/lazy.js"

const files = Args.text({ name: "file" }).pipe(
  Args.withDescription("a file or directory, optionally with a media type: FILE[:MEDIATYPE]"),
  Args.repeated
)

const pushOptions = {
  artifactType: Options.text("artifact-type").pipe(
    Options.withPseudoName("TYPE"),
    Options.withDescription("the manifest's artifactType (default application/vnd.unknown.artifact.v1)"),
    Options.optional
  ),
  annotation: Options.text("annotation").pipe(
    Options.withAlias("a"),
    Options.withPseudoName("KEY=VALUE"),
    Options.withDescription("a manifest annotation"),
    Options.repeated
  ),
  annotationFile: Options.text("annotation-file").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription("annotations as JSON: {\"$manifest\": {…}, \"$config\": {…}, \"<title>\": {…}}"),
    Options.optional
  ),
  config: Options.text("config").pipe(
    Options.withPseudoName("FILE[:MEDIATYPE]"),
    Options.withDescription("a config blob instead of the empty one"),
    Options.optional
  ),
  exportManifest: Options.text("export-manifest").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription("also write the manifest pushed to FILE"),
    Options.optional
  )
}

const push = Command.make(
  "push",
  {
    reference: Args.text({ name: "reference" }).pipe(
      Args.withDescription("where to push: a registry reference, oci:<dir>[:tag] or oci-archive:<file>[:tag]")
    ),
    files,
    ...pushOptions,
    subject: Options.text("subject").pipe(
      Options.withPseudoName("REF"),
      Options.withDescription("the manifest this artifact refers to (a tag or digest of the same repository)"),
      Options.optional
    )
  },
  (args) => withOps((ops, globals) => ops.artifactPush(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Push files as an OCI artifact and print its digest",
  details: "Each file is a layer titled with its base name; a directory is one reproducible tar.gz layer, " +
    "unpacked by `artifact pull`. The same files give the same digest. An existing oci-archive keeps what " +
    "it holds: the artifact is added and the archive written again.",
  examples: [
    "ocidist artifact push localhost:5000/sbom:1 sbom.spdx.json:application/spdx+json",
    "ocidist artifact push --artifact-type application/vnd.example.chart oci:./charts:1 ./chart",
    "ocidist artifact push -a org.example.k=v --export-manifest m.json localhost:5000/files:1 a.txt b.txt"
  ]
})))

const pull = Command.make(
  "pull",
  {
    reference: Args.text({ name: "reference" }).pipe(
      Args.withDescription("the artifact: a registry reference, oci:<dir>[:tag] or an archive")
    ),
    output: Options.text("output").pipe(
      Options.withAlias("o"),
      Options.withDescription("the directory to write the files into (default: the current directory)"),
      Options.withDefault(".")
    )
  },
  (args) => withOps((ops, globals) => ops.artifactPull(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Write an artifact's files into a directory",
  details: "Each titled layer goes to DIR/<title> once its digest is verified; directories are unpacked. " +
    "Titles and tar entries that would land outside DIR fail the pull.",
  examples: [
    "ocidist artifact pull localhost:5000/sbom:1 -o ./out",
    "ocidist artifact pull --platform linux/arm64 localhost:5000/bins:1 -o ./bin",
    "ocidist artifact pull --json oci:./charts:1 -o ./charts"
  ]
})))

/**
 * @since 0.5.0
 * @category commands
 */
export const artifact = Command.make("artifact").pipe(
  Command.withDescription(describe({
    summary: "Push and pull files as OCI artifacts (oras-compatible)",
    examples: [
      "ocidist artifact push localhost:5000/files:1 a.txt ./dir",
      "ocidist artifact pull localhost:5000/files:1 -o ./out"
    ]
  })),
  Command.withSubcommands([push, pull])
)

/**
 * @since 0.5.0
 * @category commands
 */
export const attach = Command.make(
  "attach",
  {
    reference: Args.text({ name: "subject" }).pipe(
      Args.withDescription(
        "the manifest to attach to: a registry reference, oci:<dir>[:tag] or oci-archive:<file>[:tag]"
      )
    ),
    files,
    ...pushOptions
  },
  (args) => withOps((ops, globals) => ops.artifactAttach(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Attach files to an image as an artifact referring to it",
  details: "`artifact push --subject`, into the subject's repository, untagged; listed by `discover`.",
  examples: [
    "ocidist attach --artifact-type application/spdx+json localhost:5000/app:1 sbom.spdx.json",
    "ocidist attach --artifact-type application/vnd.example.sig oci:./images:app sig.bin"
  ]
})))

/**
 * @since 0.5.0
 * @category commands
 */
export const discover = Command.make(
  "discover",
  {
    reference: Args.text({ name: "location" }).pipe(
      Args.withDescription("the subject: a registry reference or a layout")
    ),
    artifactType: Options.text("artifact-type").pipe(
      Options.withDescription("only referrers with this artifactType (first level)"),
      Options.optional
    ),
    format
  },
  (args) => withOps((ops, globals) => ops.referrers(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Show an image's referrers as a tree (as oras discover)",
  aliasOf: "referrers",
  examples: [
    "ocidist discover localhost:5000/app:1",
    "ocidist referrers --json oci:./images:app"
  ]
})))
