/**
 * `ocidist ref <string>`: shows how a reference is understood.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import { Reference } from "@ocidist/reference"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import { root } from "../GlobalOptions.js"
import { describe } from "../internal/spec.js"
import { sanitize } from "../internal/terminal.js"

const reference = Args.text({ name: "reference" }).pipe(
  Args.withDescription("an image reference, e.g. ubuntu:22.04 or ghcr.io/org/app@sha256:…")
)

/**
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("ref", { reference }, ({ reference }) =>
  Effect.gen(function*() {
    const { json } = yield* root
    const ref = yield* Reference.parse(reference)
    const fields = {
      input: reference,
      registry: ref.registry,
      repository: ref.repository,
      tag: ref.tag ?? null,
      digest: ref.digest ?? null,
      identifier: ref.identifier,
      reference: ref.toString(),
      familiar: ref.familiar
    }
    if (json) {
      yield* Console.log(JSON.stringify(fields))
      return
    }
    const width = Math.max(...Object.keys(fields).map((k) => k.length))
    for (const [key, value] of Object.entries(fields)) {
      yield* Console.log(sanitize(`${key.padEnd(width)}  ${value ?? "-"}`))
    }
  })).pipe(
    Command.withDescription(describe({
      summary: "Show how a reference is understood",
      details: "Its registry, repository, tag, digest, full and familiar forms. References: " +
        "[registry/]repository[:tag][@digest] (docker:// allowed). Where a command takes a " +
        "location, also oci:<dir>[:tag|@digest], oci-archive:<file>[:tag], docker-archive:<file>[:name:tag].",
      examples: ["ocidist ref ubuntu", "ocidist ref --json localhost:5000/app:1.0"]
    }))
  )
