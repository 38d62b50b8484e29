import { z } from 'zod'

/** `200`, `200-299`, `2xx`, `200,204,301-302`. */
export function parseStatusSet(spec: string): Array<[number, number]> | undefined {
  const ranges: Array<[number, number]> = []
  for (const part of spec.split(',').map(s => s.trim())) {
    let m: RegExpMatchArray | null
    if ((m = part.match(/^([1-5])xx$/i))) ranges.push([Number(m[1]) * 100, Number(m[1]) * 100 + 99])
    else if ((m = part.match(/^(\d{3})$/))) ranges.push([Number(m[1]), Number(m[1])])
    else if ((m = part.match(/^(\d{3})\s*-\s*(\d{3})$/)) && Number(m[1]) <= Number(m[2]))
      ranges.push([Number(m[1]), Number(m[2])])
    else return undefined
  }
  return ranges.length ? ranges : undefined
}

export const STATUS_HELP =
  'expected status codes and ranges such as 200, 200-299, 2xx or 200,204,301-302'

export function statusSet(def: string) {
  return z.string().transform((raw, ctx) => {
    const v = raw === '' ? def : raw
    if (!parseStatusSet(v)) {
      ctx.addIssue({ code: 'custom', message: STATUS_HELP })
      return z.NEVER
    }
    return v
  })
}
