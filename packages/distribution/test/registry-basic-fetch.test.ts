import { modeSuite } from "./support/registrySuite.js"

modeSuite("basic", "fetch")
