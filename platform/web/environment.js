// What the page reports of its browser and device in `hello` (for the experiment's
// `screening`): the browser family, whether it is a phone or tablet, the window size,
// and — when the experiment asks — whether a WebRTC DataChannel can be opened (two
// connections of this page talking to each other).

function browserFamily() {
  const brands = navigator.userAgentData?.brands?.map((b) => b.brand) ?? [];
  const ua = navigator.userAgent;
  if (brands.includes("Microsoft Edge") || /Edg\//.test(ua)) return "edge";
  if (brands.includes("Opera") || /OPR\//.test(ua)) return "opera";
  if (brands.includes("Google Chrome") || brands.includes("Chromium") || /Chrome\//.test(ua)) return "chrome";
  if (/Firefox\//.test(ua)) return "firefox";
  if (/Safari\//.test(ua)) return "safari";
  return "other";
}

/** Opens a DataChannel between two local connections; true once it is open. */
export async function canOpenDataChannel(timeoutMs = 5000) {
  let a;
  let b;
  try {
    a = new RTCPeerConnection();
    b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate).catch(() => {});
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate).catch(() => {});
    const channel = a.createDataChannel("check");
    const opened = new Promise((resolve) => {
      channel.onopen = () => resolve(true);
      setTimeout(() => resolve(false), timeoutMs);
    });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    return await opened;
  } catch {
    return false;
  } finally {
    a?.close();
    b?.close();
  }
}

export async function environment(checkWebrtc) {
  const mobile = navigator.userAgentData?.mobile ?? /Mobi|Android|iPad|iPhone/.test(navigator.userAgent);
  const env = { browser: browserFamily(), mobile, width: window.innerWidth, height: window.innerHeight };
  if (checkWebrtc) env.webrtc = await canOpenDataChannel();
  return env;
}
