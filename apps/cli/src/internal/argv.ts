/**
 * Global options may be written anywhere on the command line (`ocidist pull --json …` and
 * `ocidist --json pull …`). @effect/cli only parses a parent command's options before the subcommand
 * name, so they are moved to the front before parsing. Everything after `--` is left alone.
 */

const flags = new Set(["--json", "--quiet", "-q", "--verbose", "-v", "--insecure", "--plain-http", "--tls"])
const withValue = new Set(["--platform", "--jobs", "-j", "--timeout"])

/**
 * @internal
 */
export const hoistGlobals = (argv: ReadonlyArray<string>): Array<string> => {
  const [node = "node", script = "ocidist", ...rest] = argv
  const globals: Array<string> = []
  const others: Array<string> = []
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!
    if (arg === "--") {
      others.push(...rest.slice(i))
      break
    }
    const name = arg.startsWith("--") && arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg
    if (flags.has(arg)) {
      globals.push(arg)
    } else if (withValue.has(name)) {
      if (name !== arg) {
        globals.push(name, arg.slice(name.length + 1))
      } else if (i + 1 < rest.length) {
        globals.push(arg, rest[i + 1]!)
        i++
      } else {
        globals.push(arg)
      }
    } else {
      others.push(arg)
    }
  }
  return [node, script, ...globals, ...others]
}

/**
 * Whether `--verbose` / `-v` was given (read before parsing, for error reporting).
 *
 * @internal
 */
export const isVerbose = (argv: ReadonlyArray<string>): boolean => {
  const end = argv.indexOf("--")
  const head = end === -1 ? argv : argv.slice(0, end)
  return head.includes("--verbose") || head.includes("-v")
}

/**
 * Whether `--json` was given (read before parsing, for error reporting).
 *
 * @internal
 */
export const isJson = (argv: ReadonlyArray<string>): boolean => {
  const end = argv.indexOf("--")
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json")
}
