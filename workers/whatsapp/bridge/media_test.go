package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Small real files, made by ffmpeg itself once for the whole test run (ffmpeg is a dependency of the
// tests, installed by scripts/bootstrap.sh: its absence fails them, it does not skip them).
var (
	samplesOnce sync.Once
	samples     map[string][]byte
	samplesErr  error
)

var sampleRecipes = map[string][]string{
	"wide.png":   {"-f", "lavfi", "-i", "color=c=red:s=640x320", "-frames:v", "1"},
	"clip.mp4":   {"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15:duration=2", "-c:v", "mpeg4", "-pix_fmt", "yuv420p"},
	"moving.gif": {"-f", "lavfi", "-i", "testsrc=size=100x80:rate=5:duration=1"},
	"tone.mp3":   {"-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "libmp3lame"},
	"tone.wav":   {"-f", "lavfi", "-i", "sine=frequency=440:duration=2"},
	"tone.ogg":   {"-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "libopus"},
	// noise compresses badly: the sticker it makes is big at a high quality, smaller at a low one
	"noise.png": {"-f", "lavfi", "-i", "nullsrc=s=200x200,geq=random(1)*255:random(2)*255:random(3)*255", "-frames:v", "1"},
}

func sample(t *testing.T, name string) []byte {
	t.Helper()
	samplesOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wagw-samples-")
		if err != nil {
			samplesErr = err
			return
		}
		defer os.RemoveAll(dir)
		samples = map[string][]byte{}
		for file, recipe := range sampleRecipes {
			path := filepath.Join(dir, file)
			if out, err := exec.Command("ffmpeg", append(append([]string{"-v", "error", "-y"}, recipe...), path)...).CombinedOutput(); err != nil {
				samplesErr = errors.New(file + ": " + err.Error() + ": " + string(out))
				return
			}
			samples[file], _ = os.ReadFile(path)
		}
	})
	if samplesErr != nil {
		t.Fatalf("the test files are made with ffmpeg (scripts/bootstrap.sh installs it): %v", samplesErr)
	}
	return samples[name]
}

// probeBytes is what ffprobe says of a converted file: its real format, not the one the code claims.
func probeBytes(t *testing.T, data []byte) probed {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := probeFile(context.Background(), path)
	if err != nil {
		t.Fatalf("ffprobe cannot read the output: %v", err)
	}
	return info
}

func prepare(t *testing.T, kind, name, mimetype string, ptt bool) Prepared {
	t.Helper()
	prepared, err := Prepare(context.Background(), kind, sample(t, name), mimetype, ptt)
	if err != nil {
		t.Fatalf("%s %s: %v", kind, name, err)
	}
	return prepared
}

func TestAVoiceNoteNotInOggOpusIsConvertedToIt(t *testing.T) {
	for _, name := range []string{"tone.mp3", "tone.wav"} {
		voice := prepare(t, "audio", name, "audio/mpeg", true)
		info := probeBytes(t, voice.Data)
		if !bytes.HasPrefix(voice.Data, []byte("OggS")) || info.Format.Name != "ogg" ||
			info.stream("audio").Codec != "opus" || voice.Mimetype != voiceNoteMimetype || voice.Seconds != 2 {
			t.Errorf("%s: %s/%s as %q, %d s", name, info.Format.Name, info.stream("audio").Codec, voice.Mimetype, voice.Seconds)
		}
	}
}

func TestAnOggOpusVoiceNoteAndOtherAudioAreSentAsTheyAre(t *testing.T) {
	voice := prepare(t, "audio", "tone.ogg", voiceNoteMimetype, true)
	song := prepare(t, "audio", "tone.mp3", "audio/mpeg", false)
	if !bytes.Equal(voice.Data, sample(t, "tone.ogg")) || voice.Seconds != 2 {
		t.Errorf("an OGG/Opus voice note was changed (%d bytes, %d s)", len(voice.Data), voice.Seconds)
	}
	if !bytes.Equal(song.Data, sample(t, "tone.mp3")) || song.Mimetype != "audio/mpeg" || song.Seconds != 2 {
		t.Errorf("audio that is no voice note was changed (%q, %d s)", song.Mimetype, song.Seconds)
	}
}

func TestAStickerIsA512SquareWebPAnimatedWhenItMoves(t *testing.T) {
	still := prepare(t, "sticker", "wide.png", "image/png", false)
	moving := prepare(t, "sticker", "moving.gif", "image/gif", false)
	for name, sticker := range map[string]Prepared{"png": still, "gif": moving} {
		if !isWebP(sticker.Data) || sticker.Mimetype != "image/webp" || sticker.Width != 512 || sticker.Height != 512 {
			t.Errorf("%s: not a 512x512 WebP: %q %dx%d %q", name, sticker.Mimetype, sticker.Width, sticker.Height, sticker.Data[:16])
		}
	}
	if info := probeBytes(t, still.Data); info.stream("video").Width != 512 || info.stream("video").Height != 512 || still.Animated {
		t.Errorf("still sticker: %+v, animated %v", info.Streams, still.Animated)
	}
	if !moving.Animated || !bytes.Contains(moving.Data[:64], []byte("ANIM")) {
		t.Errorf("a GIF's sticker is not an animated WebP")
	}
	for _, sticker := range []Prepared{still, moving} { // already WebP: sent as it is
		passed, err := Prepare(context.Background(), "sticker", sticker.Data, "image/webp", false)
		if err != nil || !bytes.Equal(passed.Data, sticker.Data) || passed.Animated != sticker.Animated {
			t.Errorf("a WebP sticker was converted again (%v)", err)
		}
	}
}

// limited sets WhatsApp's sticker limits for one test (the real ones need big files to reach).
func limited(t *testing.T, still, animated int) {
	t.Helper()
	saved := stickerMaxBytes
	stickerMaxBytes = map[bool]int{false: still, true: animated}
	t.Cleanup(func() { stickerMaxBytes = saved })
}

func TestAStickerOverWhatsAppsLimitIsMadeAtALowerQualityOrRefused(t *testing.T) {
	best := prepare(t, "sticker", "noise.png", "image/png", false)
	limited(t, len(best.Data)-1, 500<<10) // the first quality no longer fits
	lower := prepare(t, "sticker", "noise.png", "image/png", false)
	if len(lower.Data) >= len(best.Data) || !isWebP(lower.Data) {
		t.Errorf("not made again at a lower quality: %d bytes, was %d", len(lower.Data), len(best.Data))
	}
	limited(t, 1<<10, 1<<10) // nothing fits
	_, err := Prepare(context.Background(), "sticker", sample(t, "noise.png"), "image/png", false)
	if err == nil || !strings.Contains(err.Error(), "WhatsApp takes a still sticker of at most 1 KB even at the lowest quality") {
		t.Errorf("a sticker that cannot fit: %v", err)
	}
	_, err = Prepare(context.Background(), "sticker", lower.Data, "image/webp", false)
	if err == nil || !strings.Contains(err.Error(), "send a smaller WebP") {
		t.Errorf("a WebP over the limit is sent as it is: %v", err)
	}
	_, err = Prepare(context.Background(), "sticker", sample(t, "moving.gif"), "image/gif", false)
	if err == nil || !strings.Contains(err.Error(), "an animated sticker of at most 1 KB") {
		t.Errorf("an animated sticker that cannot fit: %v", err)
	}
}

func TestImagesAndVideosGetAJPEGThumbnailTheirSizeAndSeconds(t *testing.T) {
	image := prepare(t, "image", "wide.png", "image/png", false)
	video := prepare(t, "video", "clip.mp4", "video/mp4", false)
	if !bytes.Equal(image.Data, sample(t, "wide.png")) || image.Width != 640 || image.Height != 320 || image.Seconds != 0 {
		t.Errorf("image: %dx%d, %d s, changed %v", image.Width, image.Height, image.Seconds, !bytes.Equal(image.Data, sample(t, "wide.png")))
	}
	if !bytes.Equal(video.Data, sample(t, "clip.mp4")) || video.Width != 320 || video.Height != 240 || video.Seconds != 2 {
		t.Errorf("video: %dx%d, %d s", video.Width, video.Height, video.Seconds)
	}
	for name, want := range map[string][2]uint32{"image": {200, 100}, "video": {200, 150}} {
		thumbnail := map[string]Prepared{"image": image, "video": video}[name].Thumbnail
		info := probeBytes(t, thumbnail)
		picture := info.stream("video")
		if !bytes.HasPrefix(thumbnail, []byte{0xFF, 0xD8, 0xFF}) || picture.Codec != "mjpeg" || picture.Width != want[0] || picture.Height != want[1] {
			t.Errorf("%s thumbnail: %s %dx%d", name, picture.Codec, picture.Width, picture.Height)
		}
	}
}

func TestAFileFFmpegCannotReadIsRefusedWithAReason(t *testing.T) {
	cases := []struct{ kind, reason string }{
		{"sticker", "not a file ffmpeg can read"}, {"image", "not a file ffmpeg can read"},
		{"video", "not a file ffmpeg can read"}, {"audio", "not a file ffmpeg can read"},
	}
	for _, c := range cases {
		if _, err := Prepare(context.Background(), c.kind, []byte("hello, not media"), "", true); err == nil || !strings.Contains(err.Error(), c.reason) {
			t.Errorf("%s: %v", c.kind, err)
		}
	}
	if _, err := Prepare(context.Background(), "audio", sample(t, "wide.png"), "audio/mpeg", true); err == nil || !strings.Contains(err.Error(), "no sound") {
		t.Errorf("a picture sent as a voice note: %v", err)
	}
	if _, err := Prepare(context.Background(), "image", sample(t, "tone.mp3"), "image/png", false); err == nil || !strings.Contains(err.Error(), "not an image or a video") {
		t.Errorf("a sound sent as an image: %v", err)
	}
	document := []byte("%PDF-1.4 as it is")
	if kept, err := Prepare(context.Background(), "document", document, "application/pdf", false); err != nil || !bytes.Equal(kept.Data, document) {
		t.Errorf("a document is sent as it is: %v", err)
	}
}
