/**
 * `pull`, `push`, `copy` / `cp`.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { describe, withOps } from "../internal/lazy.js"

const locationHelp =
  "a registry reference, oci:<dir>[:tag], oci-archive:<file>[:tag] or docker-archive:<file>[:name:tag|:@N|@<image ID>]" +
  " (archives may be .tar.gz/.tar.zst when read)"

/** `--format`: the media types written. */
const formatOption = Options.choice("format", ["oci", "docker", "keep"]).pipe(
  Options.withDescription("media types to write"),
  Options.optional
)

/** `--compress` and `--compress-level`: layer compression written (validated in ops/transfer.ts). */
const compressOptions = {
  compress: Options.choice("compress", ["gzip", "zstd", "none", "keep"]).pipe(
    Options.withDescription("layer compression to write"),
    Options.optional
  ),
  compressLevel: Options.integer("compress-level").pipe(
    Options.withPseudoName("N"),
    Options.withDescription("gzip 1-9 (default 6), zstd 1-19 (default 3)"),
    Options.optional
  )
}

/**
 * @since 0.1.0
 * @category commands
 */
export const pull = Command.make(
  "pull",
  {
    reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the image to pull, e.g. alpine:3.20")),
    destination: Args.text({ name: "destination" }).pipe(
      Args.withDescription(`where to put it: a directory (an OCI layout), or ${locationHelp}`)
    ),
    format: Options.choice("format", ["oci", "docker", "keep", "oci-archive", "docker-archive"]).pipe(
      Options.withDescription("media types to write"),
      Options.optional
    ),
    ...compressOptions
  },
  (args) => withOps((ops, globals) => ops.pull(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Pull an image into an OCI layout or an archive",
  details: "An image, an artifact or a whole index, from a registry or any other location. An interrupted " +
    "pull keeps the complete blobs; running it again resumes.",
  examples: [
    "ocidist pull alpine:3.20 ./alpine",
    "ocidist pull --platform linux/arm64 alpine:3.20 oci:./images:alpine",
    "ocidist pull --format keep alpine:3.20 oci-archive:alpine.tar"
  ]
})))

/**
 * @since 0.1.0
 * @category commands
 */
export const push = Command.make(
  "push",
  {
    source: Args.text({ name: "source" }).pipe(Args.withDescription(`a directory (an OCI layout), or ${locationHelp}`)),
    reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the registry reference to push to")),
    format: formatOption,
    ...compressOptions
  },
  (args) => withOps((ops, globals) => ops.push(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Push an image from an OCI layout or an archive to a registry",
  details: "Blobs the registry has already are skipped.",
  examples: [
    "ocidist push ./alpine localhost:5000/alpine:3.20",
    "ocidist push oci:./images:alpine ghcr.io/me/alpine:3.20",
    "ocidist push docker-archive:app.tar registry.example.com/app:1.0"
  ]
})))

const copyConfig = {
  source: Args.text({ name: "source" }).pipe(Args.withDescription("what to copy: a reference or a location")),
  destination: Args.text({ name: "destination" }).pipe(
    Args.withDescription("where to: a reference or a location")
  ),
  referrers: Options.boolean("referrers").pipe(
    Options.withAlias("r"),
    Options.withDescription("also copy the referrers (signatures, SBOMs, ...)")
  ),
  allTags: Options.boolean("all-tags").pipe(
    Options.withDescription("copy every tag of the source repository")
  ),
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("plan only: what would be copied, skipped, mounted")
  ),
  format: formatOption,
  ...compressOptions,
  srcCreds: Options.redacted("src-creds").pipe(
    Options.withPseudoName("USER[:PASS]"),
    Options.withDescription("source registry credentials (no :PASS: asked for)"),
    Options.optional
  ),
  destCreds: Options.redacted("dest-creds").pipe(
    Options.withPseudoName("USER[:PASS]"),
    Options.withDescription("destination credentials (no :PASS: asked for)"),
    Options.optional
  ),
  srcCredsStdin: Options.boolean("src-creds-stdin").pipe(
    Options.withDescription("read the source's USER:PASS from stdin")
  ),
  destCredsStdin: Options.boolean("dest-creds-stdin").pipe(
    Options.withDescription("read the destination's USER:PASS from stdin")
  )
}

const copyHelp = {
  summary: "Copy an image between registries, layouts and archives",
  details: "Locations: oci:<dir>[:tag], oci-archive:<file>[:tag], docker-archive:<file>[:name:tag|:@N|@<image ID>] " +
    "(a tag may be a full name, oci:<dir>:localhost/app:1; archives are read gzip- or zstd-compressed too). Digests " +
    "are preserved (see --format); blobs the destination has are skipped, blobs in another repository of the same registry " +
    "mounted. --src-creds/--dest-creds take precedence over docker's config.json.",
  examples: [
    "ocidist copy alpine:3.20 localhost:5000/alpine:3.20",
    "ocidist cp -r ghcr.io/org/app:1.0 registry.internal/app:1.0",
    "ocidist copy --all-tags --dry-run docker.io/library/busybox localhost:5000/busybox",
    "echo \"$USER:$TOKEN\" | ocidist copy --dest-creds-stdin alpine:3.20 registry.internal/alpine:3.20"
  ]
}

/**
 * @since 0.1.0
 * @category commands
 */
export const copy = Command.make("copy", copyConfig, (args) => withOps((ops, globals) => ops.copy(globals, args))).pipe(
  Command.withDescription(describe(copyHelp))
)

/**
 * @since 0.1.0
 * @category commands
 */
export const cp = Command.make("cp", copyConfig, (args) => withOps((ops, globals) => ops.copy(globals, args))).pipe(
  Command.withDescription(describe({ ...copyHelp, aliasOf: "copy" }))
)
