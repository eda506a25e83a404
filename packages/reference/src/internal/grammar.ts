/**
 * The reference grammar of distribution's `reference` package (regexp.go), as anchored regular expressions.
 *
 * @internal
 */
const alphanumeric = "[a-z0-9]+"
const separator = "(?:[._]|__|[-]+)"
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]"
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`
const host = `(?:${domainName}|${ipv6address})`
const domainAndPort = `${host}(?::[0-9]+)?`
const remoteName = `${pathComponent}(?:/${pathComponent})*`
const name = `(?:${domainAndPort}/)?${remoteName}`
const tag = "[\\w][\\w.-]*"
const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

/** name, tag (any length: the length is checked separately), digest */
export const reference = new RegExp(`^(${name})(?::(${tag}))?(?:@(${digest}))?$`)
export const domain = new RegExp(`^${domainAndPort}$`)
export const repository = new RegExp(`^${remoteName}$`)
export const validTag = /^[\w][\w.-]{0,127}$/
export const identifier = /^[a-f0-9]{64}$/
/** OCI image-spec digest grammar */
export const digestGrammar = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/
export const NAME_TOTAL_LENGTH_MAX = 255
