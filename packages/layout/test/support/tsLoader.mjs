// `--import` this to run TypeScript sources in a child process (see tsHooks.mjs).
import { register } from "node:module"

register("./tsHooks.mjs", import.meta.url)
