// A WebRTC call between a conversation's two parties (its customer and its current agent),
// signaled through the realtime connection (`signal` frames, relayed by the server to the
// other party only; docs/video-calls.md).
//
// Perfect negotiation: either side may start; when both offer at once the polite side (the
// customer) rolls back and answers, the impolite side (the agent) ignores the other's offer.
//
// Reloads: every RTCPeerConnection has a random id (`pc`). A new one announces itself with
// `hello` (no `to`); the other side answers with `hello` addressed to it. Every later frame
// names the connection it is for (`to`), so what was meant for a connection that is gone (the
// page before a reload) is dropped. A `hello` from a new connection of the other party while
// we had another means they reloaded: we start a fresh connection for them.
//
// The page shows the connection state in `data-connection-state` on the stage element.

function newPcId() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Camera and microphone, or as much of them as there is; never throws. */
async function localMedia() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return { stream: null, missing: "This browser cannot use a camera or microphone here." };
  }
  const tries = [
    { audio: true, video: true },
    { audio: true, video: false },
    { audio: false, video: true },
  ];
  let last = null;
  for (const constraints of tries) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(constraints);
      const missing = constraints.video
        ? constraints.audio
          ? null
          : "No microphone: the other side sees you but cannot hear you."
        : "No camera: the other side hears you but cannot see you.";
      return { stream, missing };
    } catch (error) {
      last = error;
    }
  }
  const why = last && last.name === "NotAllowedError" ? "was not allowed" : "is unavailable";
  return {
    stream: null,
    missing: `Your camera and microphone ${why}: you can still see and hear the other side.`,
  };
}

function candidateOut(candidate) {
  return {
    candidate: candidate.candidate,
    sdp_mid: candidate.sdpMid,
    sdp_mline_index: candidate.sdpMLineIndex,
    username_fragment: candidate.usernameFragment,
  };
}

function candidateIn(candidate) {
  return {
    candidate: candidate.candidate,
    sdpMid: candidate.sdp_mid ?? null,
    sdpMLineIndex: candidate.sdp_mline_index ?? null,
    usernameFragment: candidate.username_fragment ?? null,
  };
}

export class VideoCall extends EventTarget {
  /**
   * `client`: a ParlourClient; `conversationId`; `polite` (the customer); `iceServers` from
   * GET /api/v1/conversations/{id}/call; `stage`: the element that gets `data-connection-state`;
   * `localVideo`/`remoteVideo`: <video> elements.
   */
  constructor({ client, conversationId, polite, iceServers, stage, localVideo, remoteVideo }) {
    super();
    this.client = client;
    this.id = conversationId;
    this.polite = polite;
    this.iceServers = iceServers || [];
    this.stage = stage;
    this.localVideo = localVideo;
    this.remoteVideo = remoteVideo;
    this.stream = null;
    this.pc = null;
    this.pcId = null;
    this.remotePc = null; // the other party's connection id, once known
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.negotiationWanted = false; // asked for before the other party was known
    this.active = false;
    this.inbox = Promise.resolve(); // incoming signals, one at a time, in order
    this.cleanups = [];
  }

  /** Get the camera, open a connection and look for the other party. */
  async start() {
    const { stream, missing } = await localMedia();
    this.stream = stream;
    if (missing) this.#emit("notice", { text: missing });
    this.localVideo.srcObject = stream;
    this.active = true;
    this.#listen();
    this.#newConnection();
    this.#hello(null);
  }

  /** Leave the call: tell the other party, stop the camera. */
  hangUp() {
    if (!this.active) return;
    this.#send("hangup", {});
    this.active = false;
    this.#closeConnection();
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.localVideo.srcObject = null;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.#setState("closed");
  }

  /** New ICE servers (TURN credentials arrive once the other party is there): used by the
   * connection's next gathering, and by every connection made after. */
  useIceServers(iceServers) {
    this.iceServers = iceServers;
    if (this.pc) this.pc.setConfiguration({ ...this.pc.getConfiguration(), iceServers });
  }

  get hasAudio() {
    return Boolean(this.stream && this.stream.getAudioTracks().length);
  }

  get hasVideo() {
    return Boolean(this.stream && this.stream.getVideoTracks().length);
  }

  /** Mute or unmute the microphone; returns whether it is now muted. */
  toggleAudio() {
    return this.#toggle(this.stream ? this.stream.getAudioTracks() : []);
  }

  /** Turn the camera off or on; returns whether it is now off. */
  toggleVideo() {
    return this.#toggle(this.stream ? this.stream.getVideoTracks() : []);
  }

  #toggle(tracks) {
    const off = tracks.some((t) => t.enabled);
    for (const track of tracks) track.enabled = !off;
    return off;
  }

  // -- the peer connection ---------------------------------------------------------------------

  #newConnection() {
    this.#closeConnection();
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    this.pc = pc;
    this.pcId = newPcId();
    this.remotePc = null;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.negotiationWanted = false;
    const remote = new MediaStream();
    this.remoteVideo.srcObject = remote;
    pc.ontrack = ({ track }) => {
      if (this.pc !== pc) return;
      remote.addTrack(track);
      track.addEventListener("ended", () => remote.removeTrack(track));
    };
    pc.onicecandidate = ({ candidate }) => {
      if (this.pc === pc && candidate && this.remotePc) {
        this.#send("candidate", { candidate: candidateOut(candidate) });
      }
    };
    pc.onnegotiationneeded = () => {
      if (this.pc === pc) this.#negotiate();
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.#setState(pc.connectionState);
      // A network change broke the path: look for a new one (the negotiation carries it).
      if (pc.connectionState === "failed" && this.remotePc) pc.restartIce();
    };
    if (this.stream) {
      for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
    }
    for (const kind of ["audio", "video"]) {
      const has = kind === "audio" ? this.hasAudio : this.hasVideo;
      if (!has) pc.addTransceiver(kind, { direction: "recvonly" });
    }
    this.#setState(this.remotePc ? "connecting" : "waiting");
  }

  #closeConnection() {
    if (!this.pc) return;
    const pc = this.pc;
    this.pc = null;
    pc.ontrack = pc.onicecandidate = pc.onnegotiationneeded = pc.onconnectionstatechange = null;
    pc.close();
  }

  async #negotiate() {
    if (!this.remotePc) {
      this.negotiationWanted = true; // nobody to offer to yet
      return;
    }
    this.negotiationWanted = false;
    const pc = this.pc;
    try {
      this.makingOffer = true;
      await pc.setLocalDescription();
      if (this.pc === pc) this.#send("description", { description: this.#description(pc) });
    } catch (error) {
      this.#emit("notice", { text: `The call could not be set up: ${error.message}` });
    } finally {
      this.makingOffer = false;
    }
  }

  #description(pc) {
    const { type, sdp } = pc.localDescription;
    return { type, sdp };
  }

  // -- signaling ---------------------------------------------------------------------------------

  #listen() {
    const on = (type, handler) => {
      this.client.addEventListener(type, handler);
      this.cleanups.push(() => this.client.removeEventListener(type, handler));
    };
    on("signal", (event) => {
      const frame = event.detail;
      if (frame.conversation_id !== this.id) return;
      this.inbox = this.inbox.then(() => this.#receive(frame)).catch((error) => {
        this.#emit("notice", { text: `The call hit a problem: ${error.message}` });
      });
    });
    // After a dropped realtime connection: say we are here again (frames may have been lost).
    on("ready", () => this.active && this.#hello(null));
    const leave = () => this.hangUp();
    window.addEventListener("pagehide", leave);
    this.cleanups.push(() => window.removeEventListener("pagehide", leave));
  }

  #send(signal, extra) {
    this.client.signal(this.id, { signal, pc: this.pcId, to: this.remotePc, ref: "call", ...extra });
  }

  #hello(to) {
    this.client.signal(this.id, { signal: "hello", pc: this.pcId, to, ref: "call" });
  }

  #adopt(remotePc) {
    this.remotePc = remotePc;
    this.#setState("connecting");
    if (this.negotiationWanted) this.#negotiate();
  }

  async #receive(frame) {
    if (!this.active) return;
    const from = frame.pc;
    if (frame.signal === "hello") {
      if (!frame.to) {
        // A connection of the other party announces itself.
        if (this.remotePc && this.remotePc !== from) {
          this.#newConnection(); // they reloaded: start afresh for their new connection
        }
        if (this.remotePc !== from) this.#adopt(from);
        this.#hello(from);
      } else if (frame.to === this.pcId && !this.remotePc) {
        this.#adopt(from); // the answer to our hello
      }
      return;
    }
    if (frame.to !== this.pcId) return; // meant for a connection of ours that is gone
    if (!this.remotePc) this.#adopt(from);
    if (from !== this.remotePc) return; // from a connection of theirs that is gone
    if (frame.signal === "hangup") {
      this.#newConnection(); // ready for them to come back
      this.#emit("left", {});
      return;
    }
    const pc = this.pc;
    if (frame.signal === "description") {
      const description = frame.description;
      const collision =
        description.type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return;
      await pc.setRemoteDescription(description); // the polite side rolls back implicitly
      if (description.type === "offer") {
        await pc.setLocalDescription();
        if (this.pc === pc) this.#send("description", { description: this.#description(pc) });
      }
    } else if (frame.signal === "candidate") {
      try {
        await pc.addIceCandidate(candidateIn(frame.candidate));
      } catch (error) {
        if (!this.ignoreOffer) throw error;
      }
    }
  }

  #setState(state) {
    this.state = state;
    this.stage.dataset.connectionState = state;
    this.#emit("state", { state });
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
