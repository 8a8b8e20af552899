import { describe, expect, it } from 'vitest'
import { fmtBytes, fmtCount, fmtDuration, fmtPercent, fmtRate, fmtSeconds, idKinds, payloadView } from './format'

describe('format', () => {
  it('durations', () => {
    expect(fmtDuration(850)).toBe('850 ns')
    expect(fmtDuration(12_345)).toBe('12.3 µs')
    expect(fmtDuration(4_500_000)).toBe('4.5 ms')
    expect(fmtDuration(1_000_000)).toBe('1 ms')
    expect(fmtDuration(1.234e9)).toBe('1.23 s')
    expect(fmtDuration(125e9)).toBe('2m 5s')
    expect(fmtDuration(3 * 3600e9 + 60e9)).toBe('3h 1m')
    expect(fmtDuration(-1)).toBe('–')
    expect(fmtSeconds(0)).toBe('0 s')
    expect(fmtSeconds(20.000456)).toBe('20 s')
  })
  it('counts, rates, percentages, bytes', () => {
    expect(fmtCount(1234)).toBe('1,234')
    expect(fmtCount(12_345)).toBe('12.3k')
    expect(fmtCount(2_500_000)).toBe('2.5M')
    expect(fmtRate(200, 100)).toBe('2/s')
    expect(fmtRate(3, 300)).toBe('0.6/min')
    expect(fmtRate(0, 300)).toBe('0/s')
    expect(fmtPercent(0.1)).toBe('10%')
    expect(fmtPercent(0.0001)).toBe('<0.1%')
    expect(fmtPercent(0)).toBe('0%')
    expect(fmtBytes(9)).toBe('9 B')
    expect(fmtBytes(2048)).toBe('2 KiB')
    expect(fmtBytes(-1)).toBe('unknown')
  })
  it('payloads: JSON, text and binary', () => {
    expect(payloadView(btoa('{"id":"order-1"}'))).toEqual({ kind: 'json', text: '{\n  "id": "order-1"\n}' })
    expect(payloadView(btoa('{not json'))).toEqual({ kind: 'text', text: '{not json' })
    const bin = payloadView(btoa(String.fromCharCode(0, 1, 2, 255, 65)))
    expect(bin.kind).toBe('binary')
    expect(bin.text).toContain('00 01 02 ff 41')
    expect(payloadView(undefined).kind).toBe('empty')
    expect(payloadView('%%%').kind).toBe('binary')
  })
  it('reads any id', () => {
    expect(idKinds('order-42')).toEqual(['correlation_id', 'event_id'])
    expect(idKinds('280e13ff47c60c6d70c90b6e1399cd62')[0]).toBe('trace_id')
  })
})
