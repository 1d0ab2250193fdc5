// The timed sitting: the server's countdown, and answers saved as they change.
//
// Every page works without this module: each button is a form post that saves
// the answer. With it, the page counts down the time the server holds (only
// differences of performance.now() are used, never the computer's clock),
// saves each change through the API, and keeps unsaved changes in
// localStorage until the server acknowledges them.

const RESYNC_EVERY_MS = 60_000
const TEXT_DELAY_MS = 800
const CHOICE_DELAY_MS = 300
const MAX_BACKOFF_MS = 30_000
const FINAL_FLUSH_MS = 10_000
const KEEPALIVE_LIMIT = 60_000 // keepalive bodies must stay under 64 KiB
const WARNINGS = [
  [600, '10 minutes remaining'],
  [60, '1 minute remaining']
]
const CLOSED_CODES = new Set(['deadline_passed', 'attempt_submitted'])
const INCOMPLETE = Symbol('incomplete')

const londonTime = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'
})
const londonClock = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'
})

// localStorage, or memory when the browser refuses it (private mode, full, disabled).
const memory = new Map()
const store = {
  get (key) {
    if (memory.has(key)) return memory.get(key)
    try { return window.localStorage.getItem(key) } catch { return null }
  },
  set (key, value) {
    try { window.localStorage.setItem(key, value); memory.delete(key) } catch { memory.set(key, value) }
  },
  remove (key) {
    memory.delete(key)
    try { window.localStorage.removeItem(key) } catch {}
  },
  keys () {
    const found = new Set(memory.keys())
    try {
      for (let index = 0; index < window.localStorage.length; index += 1) found.add(window.localStorage.key(index))
    } catch {}
    return [...found]
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** "1 hour 5 minutes 3 seconds", "41 minutes 58 seconds", "45 seconds". */
export function describeSeconds (total) {
  const hours = Math.floor(total / 3600)
  const minutes = Math.floor((total % 3600) / 60)
  const seconds = total % 60
  const parts = []
  if (hours) parts.push(`${hours} hour${hours === 1 ? '' : 's'}`)
  if (minutes) parts.push(`${minutes} minute${minutes === 1 ? '' : 's'}`)
  if (seconds || !parts.length) parts.push(`${seconds} second${seconds === 1 ? '' : 's'}`)
  return parts.join(' ')
}

function formatted (format, iso) {
  const moment = Date.parse(iso)
  return Number.isFinite(moment) ? format.format(moment) : null
}

function sitting (panel) {
  const attemptId = panel.dataset.attemptId
  const api = panel.dataset.api
  const doneUrl = panel.dataset.doneUrl
  const saveStatus = document.getElementById('save-status')
  const prefix = `accredit.sitting.${attemptId}.`
  const queueKey = `${prefix}queue`

  let closed = false // the attempt is over: stop everything
  let leaving = false // navigating away on purpose: no unsaved-changes warning
  let unloading = false
  let sending = false
  let halted = false // the server refused for a reason retrying cannot fix
  let urgent = false // time is up: retry quickly
  let failures = 0
  let retryTimer = 0
  let problem = null
  let lastMessage = null
  let stopTimer = () => {}
  const hooks = { acknowledged: () => {} }

  // Status.

  function say (text, error = false) {
    if (!saveStatus) return
    if (saveStatus.textContent !== text) saveStatus.textContent = text
    saveStatus.classList.toggle('app-save-status--error', error)
  }

  // The queue of unacknowledged saves, and the seq counters, kept per attempt.

  function readQueue () {
    try {
      const queue = JSON.parse(store.get(queueKey) || '{}')
      return { answers: queue.answers || {}, flags: queue.flags || {} }
    } catch {
      return { answers: {}, flags: {} }
    }
  }

  function writeQueue (queue) {
    if (Object.keys(queue.answers).length || Object.keys(queue.flags).length) {
      store.set(queueKey, JSON.stringify(queue))
    } else {
      store.remove(queueKey)
    }
  }

  function queueEmpty () {
    const queue = readQueue()
    return !Object.keys(queue.answers).length && !Object.keys(queue.flags).length
  }

  function seqKey (position) { return `${prefix}seq.${position}` }

  function nextSeq (position, floor) {
    const seq = Math.max(Number(store.get(seqKey(position))) || 0, floor) + 1
    store.set(seqKey(position), String(seq))
    return seq
  }

  function raiseSeq (position, seq) {
    if ((Number(store.get(seqKey(position))) || 0) < seq) store.set(seqKey(position), String(seq))
  }

  function forget () {
    for (const key of store.keys()) if (key && key.startsWith(prefix)) store.remove(key)
  }

  // Sending, one save at a time, oldest position first.

  function nextJob () {
    const queue = readQueue()
    const [position] = Object.keys(queue.answers)
    if (position !== undefined) return { kind: 'answer', position, ...queue.answers[position] }
    const [flagged] = Object.keys(queue.flags)
    if (flagged !== undefined) return { kind: 'flag', position: flagged, flagged: queue.flags[flagged] }
    return null
  }

  function drop (job) {
    const queue = readQueue()
    if (job.kind === 'answer') {
      if (queue.answers[job.position]?.seq === job.seq) delete queue.answers[job.position]
    } else if (queue.flags[job.position] === job.flagged) {
      delete queue.flags[job.position]
    }
    writeQueue(queue)
  }

  async function send (job) {
    const valid = job.kind === 'answer' ? Number.isSafeInteger(job.seq) && job.seq > 0 : typeof job.flagged === 'boolean'
    if (!valid) {
      drop(job)
      return 'dropped'
    }
    if (!failures) say('Saving…')
    const url = `${api}/${job.kind === 'answer' ? 'responses' : 'flags'}/${encodeURIComponent(job.position)}`
    const body = JSON.stringify(job.kind === 'answer' ? { answer: job.answer ?? null, seq: job.seq } : { flagged: job.flagged })
    const token = document.querySelector('input[name="csrf_token"]')?.value ?? ''
    let response
    let reply = null
    try {
      response = await fetch(url, {
        method: 'PUT',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': token },
        body,
        credentials: 'same-origin',
        cache: 'no-store',
        redirect: 'manual',
        keepalive: unloading && body.length < KEEPALIVE_LIMIT
      })
      reply = await response.json().catch(() => null)
    } catch {
      return 'retry'
    }
    const code = reply?.error?.code
    if (response.ok && job.kind === 'answer' && Number.isSafeInteger(reply?.seq)) {
      raiseSeq(job.position, reply.seq)
      if (reply.seq < job.seq) return 'retry'
      drop(job)
      const time = formatted(londonTime, reply.saved_at)
      lastMessage = time ? `Saved at ${time}` : 'Saved'
      hooks.acknowledged(job, reply)
      return 'ok'
    }
    if (response.ok && job.kind === 'flag') {
      drop(job)
      lastMessage = job.flagged ? 'Flag saved' : 'Flag removed'
      hooks.acknowledged(job, reply)
      return 'ok'
    }
    if (response.status === 409 && CLOSED_CODES.has(code)) {
      close()
      return 'closed'
    }
    if (response.status === 401 || code === 'csrf_failed') {
      halted = true
      say(response.status === 401
        ? 'Not saved – you have been signed out. Sign in again: your answers are kept on this computer.'
        : 'Not saved – reload this page to carry on. Your answers are kept on this computer.', true)
      return 'halt'
    }
    if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
      drop(job)
      problem = reply?.error?.message || 'Not saved – check your answer'
      say(problem, true)
      return 'dropped'
    }
    return 'retry'
  }

  async function pump () {
    if (sending || closed || halted) return
    clearTimeout(retryTimer)
    retryTimer = 0
    sending = true
    let outcome = 'idle'
    try {
      for (let job = nextJob(); job && !closed; job = nextJob()) {
        outcome = await send(job)
        if (outcome === 'retry' || outcome === 'halt' || outcome === 'closed') break
      }
    } finally {
      sending = false
    }
    if (outcome === 'retry') {
      failures += 1
      say('Not saved – retrying', true)
      const delay = urgent ? 500 : Math.min(1000 * 2 ** (failures - 1), MAX_BACKOFF_MS)
      retryTimer = setTimeout(pump, delay)
    } else if (outcome === 'ok' || outcome === 'dropped') {
      failures = 0
      if (problem) say(problem, true)
      else if (lastMessage) say(lastMessage)
    }
  }

  /** Send what is queued, waiting at most `budget` ms; true if nothing is left. */
  async function flush (budget) {
    urgent = true
    const until = performance.now() + budget
    pump()
    while (!queueEmpty() && !closed && performance.now() < until) {
      await sleep(100)
      if (!sending && !retryTimer && !halted) pump()
    }
    return queueEmpty()
  }

  function changed () {
    problem = null
    halted = false
    pump()
  }

  function go (url) {
    leaving = true
    window.location.replace(url)
  }

  /** The server says the attempt is over: nothing more can be saved. */
  function close () {
    if (closed) return
    closed = true
    stopTimer()
    forget()
    go(doneUrl)
  }

  let ending = false
  /** Time is up: send what is pending (the server accepts it for a short grace), then end. */
  async function timeUp () {
    if (ending || closed) return
    ending = true
    leaving = true
    stopTimer()
    hooks.freeze?.()
    await flush(FINAL_FLUSH_MS)
    closed = true
    forget()
    go(doneUrl)
  }

  // The timer.

  function countDown (text) {
    const box = document.getElementById('timer')
    const announcer = document.getElementById('timer-announcer')
    const ends = document.getElementById('timer-ends')
    const [navigation] = performance.getEntriesByType?.('navigation') ?? []
    let base = {
      remaining: Number(text.dataset.remaining),
      at: navigation && navigation.responseStart > 0 ? navigation.responseStart : performance.now()
    }
    if (!Number.isFinite(base.remaining)) return
    let tickTimer = 0
    let checking = false
    let armed = WARNINGS.map(([threshold]) => base.remaining > threshold)

    const left = () => base.remaining - (performance.now() - base.at) / 1000

    function render (seconds) {
      const shown = describeSeconds(Math.max(0, Math.floor(seconds)))
      if (text.textContent !== shown) text.textContent = shown
      box?.classList.toggle('app-timer--warning', seconds <= WARNINGS[0][0])
      let message = null
      armed = armed.map((isArmed, index) => {
        const [threshold, words] = WARNINGS[index]
        if (seconds > threshold) return true
        if (isArmed) message = words
        return false
      })
      if (message && announcer) {
        announcer.textContent = ''
        setTimeout(() => { announcer.textContent = message }, 50)
      }
    }

    function tick () {
      clearTimeout(tickTimer)
      if (closed || ending) return
      const seconds = left()
      render(seconds)
      if (seconds <= 0) {
        atZero()
        return
      }
      // Wake when the next whole second is shown.
      tickTimer = setTimeout(tick, (seconds - Math.floor(seconds)) * 1000 + 15)
    }

    let syncing = null
    function fetchAttempt () {
      syncing ||= (async () => {
        const sent = performance.now()
        const response = await fetch(`${api}?items=false`, {
          headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store', redirect: 'manual'
        })
        const received = performance.now()
        if (!response.ok) throw new Error(`The attempt could not be read (${response.status})`)
        return { body: await response.json(), sent, received }
      })().finally(() => { syncing = null })
      return syncing
    }

    /** Ask the server for the time left; returns its reply, or null when it cannot be reached. */
    async function resync () {
      if (closed || ending) return null
      let result
      try {
        result = await fetchAttempt()
      } catch {
        return null
      }
      const { body, sent, received } = result
      if (body.status === 'submitted' || body.status === 'expired') {
        close()
        return body
      }
      if (body.status === 'grace') {
        timeUp()
        return body
      }
      if (typeof body.remaining_seconds === 'number') {
        // The server read its clock about half-way through the round trip.
        base = { remaining: body.remaining_seconds - (received - sent) / 2000, at: received }
        const until = formatted(londonClock, body.deadline_at)
        if (ends && until) ends.textContent = `(ends at ${until})`
        if (!checking) tick()
      }
      return body
    }

    async function atZero () {
      if (checking) return
      checking = true
      let body
      try {
        body = await resync()
      } finally {
        checking = false
      }
      if (closed || ending) return
      if (body === null) {
        // The server cannot be reached: keep asking, and end when it answers.
        tickTimer = setTimeout(atZero, 3000)
        return
      }
      if (body.status === 'open' && typeof body.remaining_seconds === 'number' && body.remaining_seconds > 0) {
        // The server still has time (an adjustment, or this page ran fast): carry on.
        if (left() <= 0) base = { remaining: body.remaining_seconds + 0.25, at: performance.now() }
        tick()
        return
      }
      timeUp()
    }

    const every = setInterval(resync, RESYNC_EVERY_MS)
    const onVisible = () => { if (document.visibilityState === 'visible') resync() }
    document.addEventListener('visibilitychange', onVisible)
    window.addEventListener('focus', resync)
    window.addEventListener('pageshow', (event) => { if (event.persisted) resync() })
    stopTimer = () => {
      if (ending && announcer) announcer.textContent = 'Time is up'
      clearTimeout(tickTimer)
      clearInterval(every)
      document.removeEventListener('visibilitychange', onVisible)
      window.removeEventListener('focus', resync)
    }
    tick()
  }

  // Autosave on the question page.

  function autosave (form) {
    const position = form.dataset.position
    const kind = form.dataset.itemType
    const floor = Number(form.dataset.seq) || 0
    const seqInput = form.querySelector('input[name="seq"]')
    const flagBox = form.querySelector('input[name="flagged"]')
    let pending = 0
    let submitting = false

    const isText = (field) => field.name === 'answer' && (field.tagName === 'TEXTAREA' || !['radio', 'checkbox'].includes(field.type))
    const choices = () => [...form.querySelectorAll('input[name="answer"]')]
    const selects = () => [...form.querySelectorAll('select[name^="position-"]')]
    const optionOf = (select) => select.name.slice('position-'.length)

    function readAnswer () {
      if (kind === 'single') return choices().find((input) => input.checked)?.value ?? null
      if (kind === 'multiple') return choices().filter((input) => input.checked).map((input) => input.value)
      if (kind === 'ordering') {
        const places = selects().map((select) => select.value)
        if (places.every((place) => place === '')) return null
        if (places.includes('') || new Set(places).size !== places.length) return INCOMPLETE
        return selects()
          .map((select) => [Number(select.value), optionOf(select)])
          .sort((a, b) => a[0] - b[0])
          .map(([, option]) => option)
      }
      return form.querySelector('[name="answer"]')?.value ?? ''
    }

    function showAnswer (answer) {
      if (kind === 'single') for (const input of choices()) input.checked = input.value === answer
      else if (kind === 'multiple') for (const input of choices()) input.checked = Array.isArray(answer) && answer.includes(input.value)
      else if (kind === 'ordering') {
        for (const select of selects()) {
          const place = Array.isArray(answer) ? answer.indexOf(optionOf(select)) : -1
          select.value = place >= 0 ? String(place + 1) : ''
        }
      } else {
        const field = form.querySelector('[name="answer"]')
        if (field) field.value = answer ?? ''
      }
    }

    // A change kept from before a reload or a crash wins over the page's older answer.
    const kept = readQueue()
    if (kept.answers[position]?.seq > floor) showAnswer(kept.answers[position].answer)
    if (flagBox && typeof kept.flags[position] === 'boolean') flagBox.checked = kept.flags[position]
    const shown = readAnswer()
    const firstStatus = saveStatus?.textContent ?? ''
    let lastSaved = JSON.stringify(shown === INCOMPLETE ? null : shown)
    let frozen = false
    let incomplete = false

    function commit () {
      clearTimeout(pending)
      pending = 0
      if (frozen) return
      const answer = readAnswer()
      if (answer === INCOMPLETE) {
        incomplete = true
        say('Not saved yet: give every statement a different position')
        return
      }
      const shape = JSON.stringify(answer)
      if (shape === lastSaved) {
        // Back to the answer already saved: say so again.
        if (incomplete) say(failures ? 'Not saved – retrying' : lastMessage || firstStatus, failures > 0)
        incomplete = false
        return
      }
      incomplete = false
      lastSaved = shape
      const queue = readQueue()
      queue.answers[position] = { answer, seq: nextSeq(position, floor) }
      writeQueue(queue)
      changed()
    }

    function later (delay) {
      clearTimeout(pending)
      pending = setTimeout(commit, delay)
    }

    form.addEventListener('input', (event) => {
      if (isText(event.target)) later(TEXT_DELAY_MS)
    })
    form.addEventListener('change', (event) => {
      const field = event.target
      if (field === flagBox) {
        const queue = readQueue()
        queue.flags[position] = field.checked
        writeQueue(queue)
        changed()
      } else if (isText(field)) {
        commit()
      } else if (field.name === 'answer' || field.name.startsWith('position-')) {
        later(CHOICE_DELAY_MS)
      }
    })
    form.addEventListener('submit', () => {
      // The post carries this answer: give it a seq newer than any autosave.
      submitting = true
      clearTimeout(pending)
      pending = 0
      if (seqInput) seqInput.value = String(nextSeq(position, floor))
    })

    hooks.pendingEdit = () => { if (pending) commit() }
    // Time is up: keep the last change, then take no more.
    hooks.freeze = () => {
      if (pending) commit()
      frozen = true
      form.inert = true
    }
    hooks.isSubmitting = () => submitting

    // Keep the navigator's answered and flagged marks in step with what is saved.
    hooks.acknowledged = (job, reply) => {
      const button = form.querySelector(`.app-navigator__button[value="${Number(job.position)}"]`)
      if (!button) return
      if (job.kind === 'answer' && reply.stored) {
        const answered = job.answer !== null && job.answer !== '' && !(Array.isArray(job.answer) && !job.answer.length)
        button.classList.toggle('app-navigator__button--answered', answered)
      } else if (job.kind === 'flag') {
        button.classList.toggle('app-navigator__button--flagged', job.flagged)
      }
      const hidden = button.querySelector('.govuk-visually-hidden')
      if (hidden) {
        const answered = button.classList.contains('app-navigator__button--answered')
        const flagged = button.classList.contains('app-navigator__button--flagged')
        hidden.textContent = `, ${answered ? 'answered' : 'not answered'}${flagged ? ', flagged' : ''}`
      }
    }
  }

  // The submit page: send anything still queued before the attempt is submitted.
  function guardSubmit (form) {
    form.addEventListener('submit', async (event) => {
      if (queueEmpty() || closed) {
        leaving = true
        forget()
        return
      }
      event.preventDefault()
      await flush(FINAL_FLUSH_MS)
      leaving = true
      forget()
      HTMLFormElement.prototype.submit.call(form)
    })
  }

  window.addEventListener('beforeunload', (event) => {
    if (leaving || closed || hooks.isSubmitting?.()) return
    unloading = true
    hooks.pendingEdit?.()
    if (!queueEmpty()) {
      event.preventDefault()
      event.returnValue = ''
    }
  })
  window.addEventListener('pagehide', () => { unloading = true })
  window.addEventListener('pageshow', () => { unloading = false })
  window.addEventListener('online', () => { if (retryTimer) pump() })

  const form = document.getElementById('sitting-form')
  if (form && form.dataset.attemptId === attemptId) autosave(form)
  const finalForm = document.querySelector('main form[action$="/submit"]')
  if (finalForm) guardSubmit(finalForm)

  // First send whatever an earlier page left unsaved, then start the clock.
  pump()
  const timerText = document.getElementById('timer-text')
  if (timerText) countDown(timerText)
}

const panel = document.getElementById('sitting-status')
if (panel?.dataset.attemptId && panel.dataset.api) sitting(panel)
