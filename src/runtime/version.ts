/** The suite's version, sent in every user agent. Kept equal to package.json by a test. */
export const VERSION = '1.0.0'
export const USER_AGENT = `shipgate/${VERSION}`
