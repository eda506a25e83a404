import { largeSuite } from "./support/registrySuite.js"

largeSuite()
