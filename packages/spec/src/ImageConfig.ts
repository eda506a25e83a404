/**
 * Image configs (image-spec `config.md`): `application/vnd.oci.image.config.v1+json` and Docker's
 * `application/vnd.docker.container.image.v1+json`. Unknown fields are allowed and dropped from decoded
 * values; the raw bytes (and their digest) are what count.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { parseJson } from "./internal/json.js"
import { InvalidManifest } from "./SpecError.js"

const StringMap = Schema.Record({ key: Schema.String, value: Schema.Unknown })
const nullable = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

/**
 * The runtime part of an image config (`config` in the OCI config, `container_config` in old Docker ones).
 *
 * @since 0.2.0
 * @category schemas
 */
export const ContainerConfig = Schema.Struct({
  User: nullable(Schema.String),
  ExposedPorts: nullable(StringMap),
  Env: nullable(Schema.Array(Schema.String)),
  Entrypoint: nullable(Schema.Array(Schema.String)),
  Cmd: nullable(Schema.Array(Schema.String)),
  Volumes: nullable(StringMap),
  WorkingDir: nullable(Schema.String),
  Labels: nullable(Schema.Record({ key: Schema.String, value: Schema.String })),
  StopSignal: nullable(Schema.String)
})

/**
 * An image config (`application/vnd.oci.image.config.v1+json` or Docker's `container.image.v1+json`).
 * Unknown fields are allowed and dropped from the decoded value; the raw bytes are what count.
 *
 * @since 0.2.0
 * @category schemas
 */
export const ImageConfig = Schema.Struct({
  created: Schema.optional(Schema.String),
  author: Schema.optional(Schema.String),
  architecture: Schema.String,
  os: Schema.String,
  "os.version": Schema.optional(Schema.String),
  "os.features": Schema.optional(Schema.Array(Schema.String)),
  variant: Schema.optional(Schema.String),
  config: nullable(ContainerConfig),
  rootfs: Schema.Struct({ type: Schema.String, diff_ids: Schema.Array(Schema.String) }),
  history: Schema.optional(Schema.Array(Schema.Struct({
    created: Schema.optional(Schema.String),
    created_by: Schema.optional(Schema.String),
    author: Schema.optional(Schema.String),
    comment: Schema.optional(Schema.String),
    empty_layer: Schema.optional(Schema.Boolean)
  })))
}).annotations({ identifier: "ImageConfig" })

/**
 * @since 0.2.0
 * @category models
 */
export interface ImageConfig extends Schema.Schema.Type<typeof ImageConfig> {}

/**
 * The largest config read into memory: 16 MiB.
 *
 * @since 0.2.0
 * @category constants
 */
export const MAX_BYTES = 16 * 1024 * 1024

let decodeValue: ((u: unknown) => Either.Either<ImageConfig, ParseResult.ParseError>) | undefined

/**
 * Decodes image config bytes.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decode = (bytes: Uint8Array): Either.Either<ImageConfig, InvalidManifest> =>
  Either.flatMap(
    Either.mapLeft(parseJson(bytes), (e) =>
      new InvalidManifest({ reason: "Malformed", detail: `config is not JSON: ${e.message}`, cause: e.cause })),
    (json) =>
      Either.mapLeft(
        (decodeValue ??= Schema.decodeUnknownEither(ImageConfig))(json),
        (e) =>
          new InvalidManifest({
            reason: "Malformed",
            detail: `invalid image config: ${ParseResult.TreeFormatter.formatErrorSync(e)}`,
            cause: e
          })
      )
  )
