// One call between a mentor and a mentee, each in their own headless
// Chromium with a fake camera and microphone: media both ways, mute, chat,
// screen share, and screenshots of the call view.
//
// The tests share the call (joining is the `before` hook) and each leaves it
// as it found it: unmuted, not sharing.

import assert from 'node:assert/strict';
import { after, before } from 'node:test';

import { assertAccessible, assertKeyboardReachable } from './a11y.mjs';
import {
  byTestId,
  dumpDiagnostics,
  e2e,
  joinCall,
  launchPerson,
  screenshotPath,
  startServer,
  TEST_TIMEOUT_MS,
  textOf,
  waitForAudioFlowing,
  waitForFramesDecoded,
  waitForState,
  waitForVideoHidden,
  waitForVideoPlaying,
  waitUntil,
} from './harness.mjs';

const ctx = { server: null, people: [] };
let mentor;
let mentee;
let session;

before(async () => {
  ctx.server = await startServer();
  session = await ctx.server.createSession({ title: 'Weekly 1:1', mentor: 'Ada', mentee: 'Grace' });
  [mentor, mentee] = await Promise.all([launchPerson('mentor'), launchPerson('mentee')]);
  ctx.people = [mentor, mentee];
  // The mentee's browser does not offer redundant audio (as Firefox does
  // not): the mentor's RED must reach her as plain Opus.
  await mentee.context.addInitScript(() => {
    const createOffer = RTCPeerConnection.prototype.createOffer;
    RTCPeerConnection.prototype.createOffer = function (...args) {
      const codecs = RTCRtpReceiver.getCapabilities('audio').codecs
        .filter((c) => c.mimeType.toLowerCase() !== 'audio/red');
      for (const t of this.getTransceivers()) {
        if (t.receiver.track?.kind === 'audio') t.setCodecPreferences(codecs);
      }
      return createOffer.apply(this, args);
    };
  });
  try {
    await Promise.all([
      joinCall(mentor, session.links.mentor),
      joinCall(mentee, session.links.mentee, { name: 'Grace H.' }),
    ]);
  } catch (err) {
    await dumpDiagnostics('joining the call', ctx);
    throw err;
  }
}, { timeout: TEST_TIMEOUT_MS });

after(async () => {
  await Promise.all(ctx.people.map((p) => p?.close()));
  await ctx.server?.stop();
}, { timeout: TEST_TIMEOUT_MS });

e2e('both people connect and see and hear each other', ctx, async () => {
  await Promise.all([
    waitForState(mentor.page, 'connected'),
    waitForState(mentee.page, 'connected'),
  ]);
  await Promise.all([
    waitForVideoPlaying(mentor.page, 'remote-video'),
    waitForVideoPlaying(mentee.page, 'remote-video'),
    waitForAudioFlowing(mentor.page),
    waitForAudioFlowing(mentee.page),
  ]);
  // The mentor sends redundant audio (RED): Duet's answer lists it first.
  // The mentee, whose browser did not offer it, gets each packet's primary
  // Opus frame (server/src/media/red.rs); Chromium's stats name Opus
  // either way, so the server's counters tell.
  const answer = await mentor.page.evaluate(() => window.duet.pc.remoteDescription?.sdp ?? '');
  assert.match(answer, /m=audio \d+ \S+ 63 111/, 'RED first in the answer to the mentor');
  const unwrapped = 'duet_rtp_red_packets_forwarded_total{as="opus"}';
  await waitUntil('RED from the mentor reaching the mentee as Opus', async () => {
    const n = await ctx.server.metric(unwrapped);
    return n >= 50 || { ok: false, state: n };
  }, { timeout: 10_000 });
  assert.equal(await ctx.server.metric('duet_rtp_red_packets_forwarded_total{as="red"}'), 0, 'no RED reaches the mentee as RED');
  // And what reaches her decodes: sound in it, next to nothing concealed.
  const audioIn = (page) => page.evaluate(async () => {
    const stats = await window.duet.pc.getStats();
    let r = null;
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') {
        r = { samples: s.totalSamplesReceived ?? 0, concealed: s.concealedSamples ?? 0, energy: s.totalAudioEnergy ?? 0 };
      }
    });
    return r;
  });
  const before = await audioIn(mentee.page);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const heard = await audioIn(mentee.page);
  const concealed = (heard.concealed - before.concealed) / Math.max(1, heard.samples - before.samples);
  assert.ok(heard.samples - before.samples > 48_000 * 2, `the mentee's audio plays: ${JSON.stringify({ before, heard })}`);
  assert.ok(concealed < 0.05, `the mentee's audio decodes: ${(concealed * 100).toFixed(1)} % concealed`);
  assert.ok(heard.energy > before.energy, `the mentee hears sound: ${JSON.stringify({ before, heard })}`);

  // The server sees both of them, under the names they joined with.
  const seen = await ctx.server.getSession(session.id);
  assert.equal(seen.mentor.connected, true);
  assert.equal(seen.mentee.connected, true);
  assert.equal(seen.mentee.display_name, 'Grace H.');
  // Not a pair's call: no agenda-and-notes panel.
  assert.equal(await byTestId(mentor.page, 'notes-toggle').isVisible(), false);
  // On a clean loopback both connections read good, on both pages, each
  // named: yours, and the other person's.
  for (const [page, other] of [[mentor.page, 'Grace H.'], [mentee.page, 'Ada']]) {
    assert.equal(await byTestId(page, 'connection-quality').getAttribute('data-quality'), 'good');
    assert.equal(await byTestId(page, 'peer-connection-quality').getAttribute('data-quality'), 'good');
    assert.equal(await byTestId(page, 'connection-quality').getAttribute('aria-label'), 'Your connection is good');
    assert.equal(await byTestId(page, 'peer-connection-quality').getAttribute('aria-label'), `${other}’s connection is good`);
  }

  // The secret in the link's fragment never went out in a URL or a Referer.
  for (const person of [mentor, mentee]) {
    for (const token of Object.values(session.tokens)) {
      const leaks = person.requests.filter((r) => r.url.includes(token) || r.referer?.includes(token));
      assert.deepEqual(leaks.map((r) => r.url.slice(0, 80)), [], `${person.label} leaked a token`);
    }
  }
});

/// Visible elements whose own text, aria-label or title matches `pattern`,
/// leaving out the page's own controls and the chat: what the page shows
/// about the other person.
async function showsAboutPeer(page, pattern) {
  return page.evaluate(({ source, flags }) => {
    const re = new RegExp(source, flags);
    const own = ['mute-audio', 'mute-video', 'share-screen', 'leave', 'chat-log', 'chat-input'];
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      const st = getComputedStyle(el);
      return r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none'
        && !el.closest('[hidden]');
    };
    const says = (el) => {
      const bits = [el.getAttribute('aria-label'), el.getAttribute('title')];
      if (el.children.length === 0) bits.push(el.textContent);
      return bits.some((b) => b && re.test(b));
    };
    const hits = [...document.querySelectorAll('body *')].filter((el) => {
      if (own.some((id) => el.closest(`[data-testid="${id}"]`))) return false;
      return says(el) && visible(el);
    });
    return hits.map((el) => el.outerHTML.slice(0, 160));
  }, { source: pattern.source, flags: pattern.flags });
}

const MUTED = /\bmuted\b|microphone (is )?off|mic (is )?off/i;
const CAMERA_OFF = /camera (is )?off|video (is )?off/i;

e2e('muting the microphone shows on the other side, unmuting clears it', ctx, async () => {
  await waitForState(mentee.page, 'connected');
  assert.deepEqual(await showsAboutPeer(mentee.page, MUTED), [], 'nobody is muted at the start');

  await byTestId(mentor.page, 'mute-audio').click();
  const hits = await waitUntil('the mentee page to show the mentor muted',
    async () => {
      const h = await showsAboutPeer(mentee.page, MUTED);
      return h.length > 0 ? h : { ok: false, hits: h };
    });
  console.log(`mentee sees the mentor muted: ${hits.join(' | ')}`);
  // The server knows too.
  await waitUntil('the API to report the mentor muted', async () => {
    const s = await ctx.server.getSession(session.id);
    return s.mentor.media?.audio === false ? true : { ok: false, media: s.mentor.media };
  });

  await byTestId(mentor.page, 'mute-audio').click();
  await waitUntil('the mentee page to stop showing the mentor muted', async () => {
    const h = await showsAboutPeer(mentee.page, MUTED);
    return h.length === 0 ? true : { ok: false, hits: h };
  });
  // Sound comes again.
  await waitForAudioFlowing(mentee.page);
});

e2e('turning the camera off shows on the other side, turning it on brings the picture back', ctx, async () => {
  await waitForVideoPlaying(mentee.page, 'remote-video');
  assert.deepEqual(await showsAboutPeer(mentee.page, CAMERA_OFF), [], 'no camera is off at the start');

  await byTestId(mentor.page, 'mute-video').click();
  await waitUntil('the API to report the mentor camera off', async () => {
    const s = await ctx.server.getSession(session.id);
    return s.mentor.media?.video === false ? true : { ok: false, media: s.mentor.media };
  });
  const hits = await waitUntil('the mentee page to say the mentor camera is off', async () => {
    const h = await showsAboutPeer(mentee.page, CAMERA_OFF);
    return h.length > 0 ? h : { ok: false, hits: h };
  });
  console.log(`mentee sees the mentor camera off: ${hits.join(' | ')}`);

  await byTestId(mentor.page, 'mute-video').click();
  await waitUntil('the mentee page to stop saying the camera is off', async () => {
    const h = await showsAboutPeer(mentee.page, CAMERA_OFF);
    return h.length === 0 ? true : { ok: false, hits: h };
  });
  await waitForFramesDecoded(mentee.page, 20);
  await waitForVideoPlaying(mentee.page, 'remote-video');
});

e2e('screenshots of the call view, desktop and phone', ctx, async () => {
  // A short conversation, as the docs show it.
  const hello = 'Hi Grace, shall we start with your questions?';
  await byTestId(mentor.page, 'chat-input').fill(hello);
  await byTestId(mentor.page, 'chat-send').click();
  await waitUntil('the greeting on the mentee page',
    async () => (await textOf(mentee.page, 'chat-log')).includes(hello));
  const text = 'Yes! Could you walk me through the design first?';
  await byTestId(mentee.page, 'chat-input').fill(text);
  await byTestId(mentee.page, 'chat-send').click();
  await waitUntil('the chat message on the mentor page',
    async () => (await textOf(mentor.page, 'chat-log')).includes(text));
  await Promise.all([
    waitForState(mentor.page, 'connected'),
    waitForVideoPlaying(mentor.page, 'remote-video'),
  ]);
  const desktop = screenshotPath('call.png');
  await mentor.page.screenshot({ path: desktop });
  await assertAccessible(mentor.page, 'the call');

  await mentor.page.setViewportSize({ width: 375, height: 667 });
  try {
    await waitForVideoPlaying(mentor.page, 'remote-video');
    for (const id of ['mute-audio', 'mute-video', 'leave']) {
      const box = await byTestId(mentor.page, id).boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 375 + 1,
        `${id} fits in a 375 px wide screen: ${JSON.stringify(box)}`);
    }
    const phone = screenshotPath('call-phone.png');
    await mentor.page.screenshot({ path: phone });
    await assertAccessible(mentor.page, 'the call on a phone');
    console.log(`screenshots: ${desktop} ${phone}`);
  } finally {
    await mentor.page.setViewportSize({ width: 1280, height: 800 });
  }
});

e2e('a chat message reaches both chat logs', ctx, async () => {
  const text = `A message from the mentor (${Date.now()})`;
  await byTestId(mentor.page, 'chat-input').fill(text);
  await byTestId(mentor.page, 'chat-send').click();
  await waitUntil('the message in the mentee chat-log',
    async () => (await textOf(mentee.page, 'chat-log')).includes(text));
  await waitUntil('the message in the mentor chat-log',
    async () => (await textOf(mentor.page, 'chat-log')).includes(text));
  assert.equal(await byTestId(mentor.page, 'chat-input').inputValue(), '', 'the input is cleared after sending');

  const reply = `A reply from the mentee (${Date.now()})`;
  await byTestId(mentee.page, 'chat-input').fill(reply);
  await byTestId(mentee.page, 'chat-input').press('Enter');
  await waitUntil('the reply (sent with Enter) in the mentor chat-log',
    async () => (await textOf(mentor.page, 'chat-log')).includes(reply));

  // Chat is text, never markup.
  const markup = '<img src=x onerror="window.__xss=1"><b>bold?</b>';
  await byTestId(mentor.page, 'chat-input').fill(markup);
  await byTestId(mentor.page, 'chat-send').click();
  await waitUntil('the markup shown as text in the mentee chat-log',
    async () => (await textOf(mentee.page, 'chat-log')).includes(markup));
  assert.equal(await byTestId(mentee.page, 'chat-log').locator('img, b').count(), 0);
  assert.equal(await mentee.page.evaluate(() => window.__xss), undefined);
});

e2e('sharing the screen shows it on the other side, stopping returns to the camera', ctx, async () => {
  await waitForVideoHidden(mentee.page, 'remote-screen');
  await byTestId(mentor.page, 'share-screen').click();
  await waitForVideoPlaying(mentee.page, 'remote-screen');
  // The camera is still there.
  await waitForVideoPlaying(mentee.page, 'remote-video');

  await byTestId(mentor.page, 'share-screen').click();
  await waitForVideoHidden(mentee.page, 'remote-screen');
  await waitForVideoPlaying(mentee.page, 'remote-video');
});

/** Bits per second the page's camera sends, over `ms`, and the frame width. */
async function cameraSending(page, ms = 2000) {
  const read = () => page.evaluate(async () => {
    const report = await window.duet.pc.getStats();
    let out = null;
    report.forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video' && s.bytesSent > 0 && (!out || s.bytesSent > out.bytes)) {
        out = { bytes: s.bytesSent, width: s.frameWidth || 0, at: s.timestamp };
      }
    });
    return out;
  });
  const a = await read();
  await new Promise((r) => setTimeout(r, ms));
  const b = await read();
  return { bps: ((b.bytes - a.bytes) * 8 * 1000) / (b.at - a.at), width: b.width };
}

e2e('low-bandwidth mode: the other camera comes at a low rate, audio goes on', ctx, async () => {
  const [m, a] = [mentor.page, mentee.page];
  // A camera at full rate first (it ramps up again after the screen share).
  let before;
  await waitUntil('the mentor camera at full rate', async () => {
    before = await cameraSending(m);
    return before.bps > 220_000 || { ok: false, before };
  }, { timeout: 30_000, interval: 0 });
  console.log(`# mentor camera before: ${Math.round(before.bps / 1000)} kbit/s, ${before.width} px wide`);
  // The camera itself (the encoder may already send less than this).
  const cameraWidth = await a.evaluate(() => window.duet.pc.getSenders()
    .map((snd) => snd.track).find((t) => t?.kind === 'video' && t.readyState === 'live')?.getSettings().width || 0);
  await a.locator('#settings-toggle').click();
  await byTestId(a, 'low-bandwidth-toggle').check();
  await a.locator('#settings-toggle').click();
  // The server asks the mentor's browser to stay under 150 kbit/s.
  let after;
  await waitUntil('the mentor camera slows down', async () => {
    after = await cameraSending(m);
    return after.bps < 200_000 || { ok: false, after };
  }, { timeout: 20_000, interval: 0 });
  console.log(`# mentor camera in the mentee's low-bandwidth mode: ${Math.round(after.bps / 1000)} kbit/s`);
  // The mentee's own camera goes out at half its width at most.
  await waitUntil('the mentee camera at half size', async () => {
    const own = await cameraSending(a, 1000);
    return (own.width > 0 && own.width <= cameraWidth / 2 + 1) || { ok: false, own, cameraWidth };
  }, { timeout: 15_000, interval: 0 });
  await waitForAudioFlowing(a);
  await waitForAudioFlowing(m);
  // Off again: back to full rate.
  await a.locator('#settings-toggle').click();
  await byTestId(a, 'low-bandwidth-toggle').uncheck();
  await a.locator('#settings-toggle').click();
  await waitUntil('the mentor camera back up', async () => {
    const now = await cameraSending(m);
    return now.bps > 220_000 || { ok: false, now };
  }, { timeout: 30_000, interval: 0 });
});

e2e('the join page passes axe-core and the keyboard before joining', ctx, async () => {
  const session = await ctx.server.createSession();
  const page = await mentee.page.context().newPage();
  try {
    await page.goto(session.links.mentee);
    await byTestId(page, 'name-input').waitFor({ state: 'visible' });
    await waitUntil('join-button to be enabled', () => byTestId(page, 'join-button').isEnabled());
    await assertAccessible(page, 'the join page');
    await assertKeyboardReachable(page, 'the join page');
  } finally {
    await page.close();
    await ctx.server.endSession(session.id);
  }
});

e2e('every call control is reached with Tab, shows its focus, and works from the keyboard', ctx, async () => {
  const page = mentor.page;
  await waitForState(page, 'connected');
  await page.evaluate(() => document.activeElement?.blur());
  const reached = new Map();
  for (let i = 0; i < 60; i += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      return {
        id: el.dataset.testid || el.id,
        // The focus ring: an outline, or a box shadow standing in for one.
        visible: (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none',
      };
    });
    if (focused?.id) reached.set(focused.id, focused.visible);
  }
  for (const id of ['mute-audio', 'mute-video', 'share-screen', 'chat-toggle', 'captions-toggle', 'leave', 'chat-input', 'chat-send']) {
    assert.ok(reached.has(id), `${id} is reached with Tab: ${[...reached.keys()].join(', ')}`);
    assert.equal(reached.get(id), true, `${id} shows where the focus is`);
  }
  // Operated from the keyboard: Space on the focused mute button.
  const mute = byTestId(page, 'mute-audio');
  await mute.focus();
  await page.keyboard.press('Space');
  await waitUntil('muted by the keyboard', async () => (await mute.getAttribute('aria-pressed')) === 'true');
  // The other page's screen reader hears it.
  await waitUntil('the mute announced on the other page', async () => (
    /muted their microphone/.test(await mentee.page.locator('#announcer').textContent())
  ));
  await page.keyboard.press('Enter');
  await waitUntil('unmuted by the keyboard', async () => (await mute.getAttribute('aria-pressed')) === 'false');
});
