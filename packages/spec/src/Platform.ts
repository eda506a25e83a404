/**
 * Platforms (`os/architecture[/variant]`, plus Windows `os.version`): parse, format, normalize, match,
 * and choose the best manifest of an index for a wanted platform.
 *
 * @since 0.2.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { InvalidPlatform } from "./SpecError.js"

/**
 * The platform of an image or index entry, as in the OCI image spec.
 *
 * @since 0.2.0
 * @category models
 */
export const Platform = Schema.Struct({
  architecture: Schema.String,
  os: Schema.String,
  "os.version": Schema.optional(Schema.String),
  "os.features": Schema.optional(Schema.Array(Schema.String)),
  variant: Schema.optional(Schema.String),
  features: Schema.optional(Schema.Array(Schema.String))
}).annotations({ identifier: "Platform" })

/**
 * @since 0.2.0
 * @category models
 */
export interface Platform extends Schema.Schema.Type<typeof Platform> {}

const archAliases: Record<string, string> = {
  x86_64: "amd64",
  "x86-64": "amd64",
  aarch64: "arm64",
  armhf: "arm",
  armel: "arm",
  i386: "386",
  i686: "386",
  x86: "386",
  ia32: "386",
  x64: "amd64",
  ppc64el: "ppc64le",
  powerpc64le: "ppc64le"
}

const implicitVariant = (architecture: string, variant: string | undefined, alias: string | undefined) => {
  if (variant !== undefined) {
    const v = variant.toLowerCase()
    if (architecture === "arm64" && (v === "8" || v === "v8")) return "v8"
    if (architecture === "arm" && /^\d$/.test(v)) return `v${v}`
    return v
  }
  if (alias === "armel") return "v6"
  if (alias === "armhf") return "v7"
  if (architecture === "arm64") return "v8"
  if (architecture === "arm") return "v7"
  return undefined
}

/**
 * Normalizes names the way containerd does: `x86_64` → `amd64`, `aarch64` → `arm64` (variant `v8`),
 * `armhf` → `arm/v7`, lower-case os and architecture. Variants that are implicit (`arm64` → `v8`,
 * `arm` → `v7`) are made explicit, so normalized platforms compare with `===`.
 *
 * @since 0.2.0
 * @category normalization
 */
export const normalize = (platform: Platform): Platform => {
  const rawArch = platform.architecture.toLowerCase()
  const alias = archAliases[rawArch] === undefined ? undefined : rawArch
  const architecture = archAliases[rawArch] ?? rawArch
  const variant = implicitVariant(architecture, platform.variant, alias)
  const os = platform.os.toLowerCase() === "macos" ? "darwin" : platform.os.toLowerCase()
  const { variant: _variant, ...rest } = platform
  return { ...rest, os, architecture, ...(variant === undefined ? {} : { variant }) }
}

/**
 * Parses `os/architecture[/variant]`, optionally followed by `:os.version` (`windows/amd64:10.0.17763`).
 *
 * @since 0.2.0
 * @category parsing
 */
export const parse = (input: string): Either.Either<Platform, InvalidPlatform> => {
  const [spec, osVersion, ...more] = input.trim().split(":")
  const parts = (spec ?? "").split("/")
  if (more.length > 0 || parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9._-]+$/.test(p))) {
    return Either.left(new InvalidPlatform({ input }))
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined]
  return Either.right({
    os: os.toLowerCase(),
    architecture: architecture.toLowerCase(),
    ...(variant === undefined ? {} : { variant: variant.toLowerCase() }),
    ...(osVersion === undefined || osVersion === "" ? {} : { "os.version": osVersion })
  })
}

/**
 * Formats as `os/architecture[/variant]` (with `:os.version` when set).
 *
 * @since 0.2.0
 * @category formatting
 */
export const format = (platform: Platform): string =>
  `${platform.os}/${platform.architecture}${platform.variant === undefined ? "" : `/${platform.variant}`}${
    platform["os.version"] === undefined ? "" : `:${platform["os.version"]}`
  }`

/**
 * Whether a candidate (an index entry's platform) satisfies a wanted platform. os and architecture must be
 * equal after normalization; a wanted variant must be equal (`arm64` ≈ `arm64/v8`); a wanted `os.version`
 * must be equal or a prefix of the candidate's (`10.0.17763` matches `10.0.17763.5820`).
 *
 * @since 0.2.0
 * @category matching
 */
export const matches = (wanted: Platform, candidate: Platform): boolean => {
  const w = normalize(wanted)
  const c = normalize(candidate)
  if (w.os !== c.os || w.architecture !== c.architecture) return false
  if (wanted.variant !== undefined && w.variant !== c.variant) return false
  const version = w["os.version"]
  if (version !== undefined) {
    const have = c["os.version"]
    if (have === undefined || !(have === version || have.startsWith(`${version}.`))) return false
  }
  return true
}

/**
 * The platforms candidates declare (an index's entries), formatted: what a message lists as available.
 *
 * @since 0.2.0
 * @category formatting
 */
export const available = (
  candidates: ReadonlyArray<{ readonly platform?: Platform | undefined }>
): ReadonlyArray<string> => candidates.flatMap((c) => c.platform === undefined ? [] : [format(c.platform)])

/**
 * Picks the entry that best fits a wanted platform among candidates (e.g. an index's manifests), or
 * `undefined`. Among matches, an exact variant beats an implicit one, and for Windows the highest
 * `os.version` not newer than the wanted one wins.
 *
 * @since 0.2.0
 * @category matching
 */
export const best = <A extends { readonly platform?: Platform | undefined }>(
  wanted: Platform,
  candidates: ReadonlyArray<A>
): A | undefined => {
  let chosen: A | undefined
  let chosenScore = -1
  for (const candidate of candidates) {
    const platform = candidate.platform
    if (platform === undefined || !matches(wanted, platform)) continue
    let score = 0
    if (platform.variant !== undefined && platform.variant === wanted.variant) score += 2
    if (wanted.variant === undefined && platform.variant === undefined) score += 1
    if (score > chosenScore || (score === chosenScore && newerVersion(platform, chosen?.platform))) {
      chosen = candidate
      chosenScore = score
    }
  }
  return chosen
}

const newerVersion = (a: Platform, b: Platform | undefined): boolean => {
  const va = a["os.version"]
  const vb = b?.["os.version"]
  if (va === undefined || vb === undefined) return false
  const pa = va.split(".").map(Number)
  const pb = vb.split(".").map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d > 0
  }
  return false
}

const nodeArch: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips64el: "mips64le"
}

/**
 * The platform of a Node.js-style runtime description (`process.platform`, `process.arch`, the ARM
 * version): `linux/amd64`, `linux/arm/v7`, `linux/arm64/v8`. macOS and other Unixes map to `linux`, as
 * docker does: images for them are almost always Linux images.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromRuntime = (runtime: {
  readonly platform: string
  readonly arch: string
  readonly armVersion?: string | number | undefined
}): Platform => {
  const os = runtime.platform === "win32" ? "windows" : "linux"
  const architecture = nodeArch[runtime.arch] ?? runtime.arch
  if (architecture === "arm") {
    return { os, architecture, variant: runtime.armVersion === undefined ? "v7" : `v${runtime.armVersion}` }
  }
  return architecture === "arm64" ? { os, architecture, variant: "v8" } : { os, architecture }
}

interface RuntimeProcess {
  readonly platform?: string
  readonly arch?: string
  readonly config?: { readonly variables?: { readonly arm_version?: string | number } }
}

/**
 * The platform of the running machine, read from the global `process` where there is one (Node.js, Bun,
 * Deno); `linux/amd64` elsewhere. No import of `node:*`, so this module stays platform-neutral.
 *
 * @since 0.2.0
 * @category constructors
 */
export const current = (): Platform => {
  const runtime = (globalThis as { readonly process?: RuntimeProcess }).process
  return fromRuntime({
    platform: runtime?.platform ?? "linux",
    arch: runtime?.arch ?? "x64",
    armVersion: runtime?.config?.variables?.arm_version
  })
}
