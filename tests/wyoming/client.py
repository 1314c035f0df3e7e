"""A Wyoming client for Hark's tests, written with the `wyoming` library
from PyPI (AsyncTcpClient), as Home Assistant's integration uses it.

    client.py PORT describe
    client.py PORT transcribe WAV
    client.py PORT synthesize TEXT OUT.wav [--stream]
    client.py PORT handle TEXT
    client.py PORT dialogue TEXT...
    client.py PORT recognize TEXT
    client.py PORT detect WAV [NAME]
    client.py PORT concurrent N

Each prints one JSON object on stdout.
"""

import asyncio
import json
import sys
import time
import wave

from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.intent import Intent, NotRecognized, Recognize
from wyoming.wake import Detect, Detection, NotDetected
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
)

HOST = "127.0.0.1"


async def describe(port):
    async with AsyncTcpClient(HOST, port) as client:
        started = time.monotonic()
        await client.write_event(Describe().event())
        event = await client.read_event()
        info = Info.from_event(event)
        return {
            "seconds": time.monotonic() - started,
            "asr": [m.name for p in info.asr for m in p.models],
            "tts": [v.name for p in info.tts for v in p.voices],
            "tts_streaming": any(p.supports_synthesize_streaming for p in info.tts),
            "handle": [p.name for p in info.handle],
            "intent": [p.name for p in info.intent],
            "wake": [m.name for p in info.wake for m in p.models],
            "wake_phrases": [m.phrase for p in info.wake for m in p.models],
        }


async def send_wav(client, path):
    """audio-start, the WAV's frames in chunks of 1024, audio-stop."""
    with wave.open(path, "rb") as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        audio = wav.readframes(wav.getnframes())
    await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
    step = 1024 * width * channels
    for i in range(0, len(audio), step):
        chunk = AudioChunk(rate=rate, width=width, channels=channels, audio=audio[i : i + step])
        await client.write_event(chunk.event())
    await client.write_event(AudioStop().event())


async def transcribe(port, path):
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Transcribe(language="en").event())
        await send_wav(client, path)
        event = await client.read_event()
        if Transcript.is_type(event.type):
            return {"type": event.type, "text": Transcript.from_event(event).text}
        return {"type": event.type, "data": event.data}


async def detect(port, path, names):
    """Streams WAV as Home Assistant streams a satellite's audio to a wake
    word service; the detections, then `not-detected` or nothing."""
    events = []
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Detect(names=names).event())
        await send_wav(client, path)
        while True:
            try:
                event = await asyncio.wait_for(client.read_event(), timeout=1.5)
            except asyncio.TimeoutError:
                break
            if event is None:
                break
            if Detection.is_type(event.type):
                d = Detection.from_event(event)
                events.append({"type": event.type, "name": d.name, "timestamp": d.timestamp})
            else:
                events.append({"type": event.type, "data": event.data})
            if NotDetected.is_type(event.type) or event.type == "error":
                break
    return {"events": events}


async def synthesize(port, text, out, stream):
    async with AsyncTcpClient(HOST, port) as client:
        if stream:
            await client.write_event(SynthesizeStart().event())
            for word in text.split(" "):
                await client.write_event(SynthesizeChunk(text=word + " ").event())
            # Clients send the whole text too, for servers that do not stream.
            await client.write_event(Synthesize(text=text).event())
            await client.write_event(SynthesizeStop().event())
        else:
            await client.write_event(Synthesize(text=text).event())
        kinds, audio, fmt = [], bytearray(), None
        while True:
            event = await client.read_event()
            if event is None:
                break
            kinds.append(event.type)
            if AudioStart.is_type(event.type):
                start = AudioStart.from_event(event)
                fmt = (start.rate, start.width, start.channels)
            elif AudioChunk.is_type(event.type):
                audio += AudioChunk.from_event(event).audio
            elif event.type == "error":
                return {"kinds": kinds, "error": event.data}
            if (stream and SynthesizeStopped.is_type(event.type)) or (
                not stream and AudioStop.is_type(event.type)
            ):
                break
    with wave.open(out, "wb") as wav:
        wav.setframerate(fmt[0])
        wav.setsampwidth(fmt[1])
        wav.setnchannels(fmt[2])
        wav.writeframes(bytes(audio))
    # Audio events collapsed to one entry per run of the same kind.
    runs = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    return {"kinds": runs, "seconds": len(audio) / (fmt[0] * fmt[1] * fmt[2])}


async def handle(port, text):
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Transcript(text=text).event())
        event = await client.read_event()
        return {"type": event.type, "data": event.data}


async def dialogue(port, texts):
    """Several `transcript`s on one connection, one after the other."""
    answers = []
    async with AsyncTcpClient(HOST, port) as client:
        for text in texts:
            await client.write_event(Transcript(text=text).event())
            event = await client.read_event()
            answers.append({"type": event.type, "data": event.data})
    return {"answers": answers}


async def recognize(port, text):
    async with AsyncTcpClient(HOST, port) as client:
        await client.write_event(Recognize(text=text).event())
        event = await client.read_event()
        return {"type": event.type, "data": event.data}


async def concurrent(port, n):
    """N sessions at once, each asking its own sum several times."""

    async def one(i):
        answers = []
        async with AsyncTcpClient(HOST, port) as client:
            for _ in range(3):
                await client.write_event(Transcript(text=f"what is {i} plus 1000").event())
                event = await client.read_event()
                answers.append({"type": event.type, "data": event.data})
        return {"session": i, "expected": str(i + 1000), "answers": answers}

    return {"sessions": await asyncio.gather(*(one(i) for i in range(n)))}


def main():
    port, command, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if command == "describe":
        result = describe(port)
    elif command == "transcribe":
        result = transcribe(port, args[0])
    elif command == "synthesize":
        result = synthesize(port, args[0], args[1], "--stream" in args)
    elif command == "handle":
        result = handle(port, args[0])
    elif command == "dialogue":
        result = dialogue(port, args)
    elif command == "recognize":
        result = recognize(port, args[0])
    elif command == "detect":
        result = detect(port, args[0], args[1:] or None)
    elif command == "concurrent":
        result = concurrent(port, int(args[0]))
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(asyncio.run(result)))


if __name__ == "__main__":
    main()
