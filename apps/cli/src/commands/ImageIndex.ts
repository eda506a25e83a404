/**
 * `index create`, `index append`, `index remove`, `index annotate`.
 *
 * @since 0.5.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { describe, withOps } from "../internal/lazy.js"

const destination = Args.text({ name: "destination" }).pipe(
  Args.withDescription("the index: a registry reference, oci:DIR[:TAG] or oci-archive:FILE[:TAG]")
)

const manifest = Options.text("manifest").pipe(
  Options.withAlias("m"),
  Options.withPseudoName("LOCATION"),
  Options.withDescription("a manifest or index to list (repeated); copied into the destination when elsewhere"),
  Options.repeated
)

const annotation = Options.text("annotation").pipe(
  Options.withPseudoName("KEY=VALUE"),
  Options.withDescription("an annotation of the index (repeated)"),
  Options.repeated
)

const create = Command.make(
  "create",
  { destination, manifest, annotation },
  (args) => withOps((ops, globals) => ops.indexCreate(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Create an index of manifests and print its digest",
  details: "Each image entry's platform is read from its config; an index may be an entry. An OCI index.",
  examples: [
    "ocidist index create localhost:5000/app:1 -m localhost:5000/app:1-amd64 -m localhost:5000/app:1-arm64",
    "ocidist index create oci:./images:app -m oci:./images:amd64 -m oci:./images:arm64",
    "ocidist index create --json oci-archive:app.tar:app -m localhost:5000/app@sha256:…"
  ]
})))

const append = Command.make(
  "append",
  { destination, manifest, annotation },
  (args) => withOps((ops, globals) => ops.indexAppend(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Add manifests to an index and print the new digest",
  details: "An entry of the same digest is replaced. A Docker manifest list stays one.",
  examples: [
    "ocidist index append localhost:5000/app:1 -m localhost:5000/app:1-s390x",
    "ocidist index append oci:./images:app -m docker.io/library/alpine:3.20"
  ]
})))

const remove = Command.make(
  "remove",
  {
    destination,
    digest: Options.text("digest").pipe(
      Options.withPseudoName("DIGEST"),
      Options.withDescription("remove the entry of this digest"),
      Options.optional
    )
  },
  (args) => withOps((ops, globals) => ops.indexRemove(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Remove entries (--platform or --digest) from an index and print the new digest",
  examples: [
    "ocidist index remove --platform linux/arm/v7 localhost:5000/app:1",
    "ocidist index remove oci:./images:app --digest sha256:…"
  ]
})))

const annotate = Command.make(
  "annotate",
  {
    destination,
    annotation,
    manifestAnnotation: Options.text("manifest-annotation").pipe(
      Options.withPseudoName("DIGEST=KEY=VALUE"),
      Options.withDescription("an annotation of the entry of DIGEST (repeated)"),
      Options.repeated
    )
  },
  (args) => withOps((ops, globals) => ops.indexAnnotate(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Set annotations on an index or its entries and print the new digest",
  examples: [
    "ocidist index annotate localhost:5000/app:1 --annotation org.opencontainers.image.version=1.0",
    "ocidist index annotate oci:./images:app --manifest-annotation sha256:…=org.example.tier=gold"
  ]
})))

/**
 * `index create|append|remove|annotate`.
 *
 * @since 0.5.0
 * @category commands
 */
export const index = Command.make("index").pipe(
  Command.withDescription(describe({
    summary: "Create and edit image indexes (multi-platform images)",
    details: "In a registry, an OCI layout or an oci-archive; manifests from elsewhere are copied in.",
    examples: [
      "ocidist index create localhost:5000/app:1 -m localhost:5000/app:1-amd64 -m localhost:5000/app:1-arm64",
      "ocidist index remove --platform linux/arm64 localhost:5000/app:1"
    ]
  })),
  Command.withSubcommands([create, append, remove, annotate])
)
