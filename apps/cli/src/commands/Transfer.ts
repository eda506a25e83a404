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
  "a registry reference, oci:<dir>[:tag], oci-archive:<file>[:tag] or docker-archive:<file>[:name:tag]"

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
    format: Options.choice("format", ["oci", "oci-archive", "docker-archive"]).pipe(
      Options.withDescription(
        "what to write when the destination has no transport prefix (default oci: a layout directory)"
      ),
      Options.optional
    )
  },
  (args) => withOps((ops, globals) => ops.pull(globals, args))
).pipe(Command.withDescription(describe(
  "Pull an image (or artifact, or index) from a registry into an OCI layout or an archive. An interrupted pull " +
    "keeps the complete blobs; running it again resumes.",
  [
    "ocidist pull alpine:3.20 ./alpine",
    "ocidist pull --platform linux/arm64 alpine:3.20 oci:./images:alpine",
    "ocidist pull --format oci-archive alpine:3.20 alpine.tar"
  ]
)))

/**
 * @since 0.1.0
 * @category commands
 */
export const push = Command.make(
  "push",
  {
    source: Args.text({ name: "source" }).pipe(Args.withDescription(`a directory (an OCI layout), or ${locationHelp}`)),
    reference: Args.text({ name: "reference" }).pipe(Args.withDescription("the registry reference to push to"))
  },
  (args) => withOps((ops, globals) => ops.push(globals, args))
).pipe(Command.withDescription(describe(
  "Push an image from an OCI layout or an archive to a registry. Blobs the registry has are skipped.",
  [
    "ocidist push ./alpine localhost:5000/alpine:3.20",
    "ocidist push oci:./images:alpine ghcr.io/me/alpine:3.20",
    "ocidist push docker-archive:app.tar registry.example.com/app:1.0"
  ]
)))

const copyConfig = {
  source: Args.text({ name: "source" }).pipe(Args.withDescription(locationHelp)),
  destination: Args.text({ name: "destination" }).pipe(Args.withDescription(locationHelp)),
  referrers: Options.boolean("referrers").pipe(
    Options.withAlias("r"),
    Options.withDescription("also copy the referrers (signatures, SBOMs, attestations), recursively")
  ),
  allTags: Options.boolean("all-tags").pipe(
    Options.withDescription("copy every tag of the source repository to the same tags")
  ),
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription("plan only: show what would be transferred, skipped or mounted; write nothing")
  ),
  srcCreds: Options.redacted("src-creds").pipe(
    Options.withDescription(
      "USER[:PASS] for the source registry only, before docker's config (without :PASS, asked on the terminal)"
    ),
    Options.optional
  ),
  destCreds: Options.redacted("dest-creds").pipe(
    Options.withDescription(
      "USER[:PASS] for the destination registry only, before docker's config (without :PASS, asked on the terminal)"
    ),
    Options.optional
  ),
  srcCredsStdin: Options.boolean("src-creds-stdin").pipe(
    Options.withDescription("read USER:PASS for the source registry from stdin (keeps the secret out of argv)")
  ),
  destCredsStdin: Options.boolean("dest-creds-stdin").pipe(
    Options.withDescription("read USER:PASS for the destination registry from stdin (keeps the secret out of argv)")
  )
}

const copyDescription = describe(
  "Copy an image between any two locations (registry to registry, registry to layout or archive, and back). " +
    "Digests are preserved; blobs the destination has are skipped and blobs in another repository of the same " +
    "registry are mounted.",
  [
    "ocidist copy alpine:3.20 localhost:5000/alpine:3.20",
    "ocidist cp -r ghcr.io/org/app:1.0 registry.internal/app:1.0",
    "ocidist copy --all-tags --jobs 8 docker.io/library/busybox localhost:5000/busybox",
    "ocidist copy --dry-run --platform linux/amd64 alpine:3.20 oci:./mirror:alpine",
    "echo \"$USER:$TOKEN\" | ocidist copy --dest-creds-stdin ghcr.io/org/app:1.0 registry.internal/app:1.0"
  ]
)

/**
 * @since 0.1.0
 * @category commands
 */
export const copy = Command.make("copy", copyConfig, (args) => withOps((ops, globals) => ops.copy(globals, args))).pipe(
  Command.withDescription(copyDescription)
)

/**
 * @since 0.1.0
 * @category commands
 */
export const cp = Command.make("cp", copyConfig, (args) => withOps((ops, globals) => ops.copy(globals, args))).pipe(
  Command.withDescription("Alias of copy.\n\n" + copyDescription)
)
