import { expect, it } from 'vitest'
import { apiBase, liveUrl, loadSettings } from './settings'

it('builds API and websocket URLs', () => {
  expect(apiBase('')).toBe('/api/v1')
  expect(apiBase(' https://studio.example.com// ')).toBe('https://studio.example.com/api/v1')
  expect(liveUrl({ studioUrl: '', token: '' }, 'http://127.0.0.1:7070')).toBe('ws://127.0.0.1:7070/api/v1/live')
  expect(liveUrl({ studioUrl: 'https://studio.example.com', token: 'a b&c' }, 'http://x')).toBe('wss://studio.example.com/api/v1/live?access_token=a+b%26c')
})

it('falls back to defaults on missing or broken settings', () => {
  expect(loadSettings({ getItem: () => null })).toEqual({ studioUrl: '', token: '', theme: 'system' })
  expect(loadSettings({ getItem: () => '{broken' })).toEqual({ studioUrl: '', token: '', theme: 'system' })
  expect(loadSettings({ getItem: () => '{"studioUrl":"http://s","token":5,"theme":"dark"}' })).toEqual({ studioUrl: 'http://s', token: '', theme: 'dark' })
})
