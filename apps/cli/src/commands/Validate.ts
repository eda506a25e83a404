/**
 * `validate`.
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
export const validate = Command.make(
  "validate",
  {
    reference: Args.text({ name: "location" }).pipe(Args.withDescription("a registry reference or a local location")),
    full: Options.boolean("full").pipe(
      Options.withDescription("also read every layer through its decompression and tar stream; check diff_ids")
    ),
    referrers: Options.boolean("referrers").pipe(
      Options.withDescription("also check the referrers (signatures, SBOMs) of every manifest, recursively")
    )
  },
  (args) => withOps((ops, globals) => ops.validate(globals, args))
).pipe(Command.withDescription(describe({
  summary: "Check every digest, size and media type of an image; exit 5 on a problem",
  details: "Index children, manifests, configs and layers are read and checked. With --full every layer is " +
    "also decompressed and read as a tar, its uncompressed digest compared with the config's rootfs.diff_ids. With --referrers the referrers of every manifest (Referrers API or tag " +
    "fallback; a layout's index.json entries) are checked too, recursively, their subject included.",
  examples: [
    "ocidist validate localhost:5000/app:1",
    "ocidist validate --full oci:./images:app",
    "ocidist validate --referrers localhost:5000/app:1",
    "ocidist validate --json oci-archive:app.tar | jq .problems"
  ]
})))
