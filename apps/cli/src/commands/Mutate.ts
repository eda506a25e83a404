/**
 * `mutate`, `append`: image authoring, as crane does it.
 *
 * @since 0.5.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { describe, withOps } from "../internal/lazy.js"

const source = Args.text({ name: "source" }).pipe(
  Args.withDescription("the image: a registry reference, oci:<dir>[:tag], oci-archive:<file>, docker-archive:<file>")
)

const tag = Options.text("tag").pipe(
  Options.withAlias("t"),
  Options.withPseudoName("DESTINATION"),
  Options.withDescription("where to write the result (default: the source itself, its tag moved)"),
  Options.optional
)

const keyValues = (name: string, description: string) =>
  Options.text(name).pipe(Options.withPseudoName("KEY=VALUE"), Options.withDescription(description), Options.repeated)

const annotation = keyValues("annotation", "a manifest annotation (an index's own without --platform)")

/**
 * @since 0.5.0
 * @category commands
 */
export const mutate = Command.make(
  "mutate",
  {
    source,
    tag,
    label: keyValues("label", "a config label"),
    annotation,
    env: keyValues("env", "an environment variable (replaces one of the same name)"),
    entrypoint: Options.text("entrypoint").pipe(
      Options.withDescription("the entrypoint (comma-separated, or repeated; \"\" clears it)"),
      Options.repeated
    ),
    cmd: Options.text("cmd").pipe(
      Options.withDescription("the cmd (comma-separated, or repeated; \"\" clears it)"),
      Options.repeated
    ),
    workdir: Options.text("workdir").pipe(Options.withDescription("the working directory"), Options.optional),
    user: Options.text("user").pipe(Options.withDescription("the user"), Options.optional)
  },
  (args) => withOps((ops, globals) => ops.mutate(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Change an image's config or annotations",
  details: "Only the config and manifest are new: layers stay where they are (skipped in the same repository, " +
    "mounted from another). An index: every image, or the --platform one (the index rewritten).",
  examples: [
    "ocidist mutate localhost:5000/app:1 --label org.opencontainers.image.source=https://example.com/app",
    "ocidist mutate localhost:5000/app:1 --env MODE=prod --entrypoint /app,--serve -t localhost:5000/app:2",
    "ocidist mutate --platform linux/arm64 oci:./images:app --user 1000",
    "ocidist mutate localhost:5000/app:1 --annotation org.example.release=1"
  ]
})))

/**
 * @since 0.5.0
 * @category commands
 */
export const append = Command.make(
  "append",
  {
    source,
    tag,
    layer: Options.text("layer").pipe(
      Options.withAlias("f"),
      Options.withPseudoName("FILE|DIR"),
      Options.withDescription("a tar, .tar.gz or .tar.zst (kept as it is), or a directory (tarred reproducibly)")
    ),
    annotation
  },
  (args) => withOps((ops, globals) => ops.append(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Add a layer on top of an image",
  details: "A plain tar or a directory is gzip-compressed; the diffID and a history entry go into the config.",
  examples: [
    "ocidist append localhost:5000/app:1 --layer extra.tar.gz",
    "ocidist append oci:./images:app --layer ./rootfs-extra -t oci:./images:app-extra",
    "ocidist append --platform linux/amd64 localhost:5000/multi:1 -f certs.tar"
  ]
})))
