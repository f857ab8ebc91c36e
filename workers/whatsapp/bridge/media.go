package main

// A file made ready the way WhatsApp shows it, before it is uploaded, as neonize's builders do (their
// ffmpeg and Pillow steps): a sticker as a 512x512 WebP (animated from the first 6 s at 15 fps of a GIF or
// a video), a voice note as OGG/Opus (the only voice note WhatsApp plays), a JPEG thumbnail of 200 px on
// the long side for images and videos, and the seconds and dimensions WhatsApp shows before the file is
// downloaded. Done here, between the fetch and the upload, so a file is fetched once and never crosses
// the line protocol. ffmpeg and ffprobe work on temporary files: an MP4 may keep its index at the end,
// which a pipe cannot seek back to.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Prepared is the file to upload and what the message says of it.
type Prepared struct {
	Data          []byte
	Mimetype      string
	Thumbnail     []byte
	Seconds       uint32
	Width, Height uint32
	Animated      bool
}

const (
	voiceNoteMimetype = "audio/ogg; codecs=opus"
	stickerSide       = 512
	thumbnailSide     = 200
)

// WhatsApp's limits on a sticker's file (its sticker guidelines): a bigger one is refused by the phones
// that receive it. A variable so the tests can lower it.
var stickerMaxBytes = map[bool]int{false: 100 << 10, true: 500 << 10} // by animated

// stickerQualities are tried in turn until the WebP fits its limit (the first is neonize's choice).
var stickerQualities = map[bool][]string{false: {"80", "60", "40", "20"}, true: {"50", "35", "20", "10"}}

// conversionTimeout bounds one file's ffmpeg work (a long video's first frame is quick; a hung decoder is not).
var conversionTimeout = 2 * time.Minute

// Prepare makes `data` (of the send's `kind`) ready to upload; a file ffmpeg cannot read is an error
// that says so.
func Prepare(ctx context.Context, kind string, data []byte, mimetype string, ptt bool) (Prepared, error) {
	if kind == "document" {
		return Prepared{Data: data, Mimetype: mimetype}, nil
	}
	if kind == "sticker" && isWebP(data) { // already what WhatsApp shows (ffmpeg cannot decode animated WebP)
		animated := bytes.Contains(data[:min(len(data), 64)], []byte("ANIM"))
		if err := stickerFits(len(data), animated); err != nil {
			return Prepared{}, fmt.Errorf("%w: send a smaller WebP, or a PNG, GIF or video to be converted", err)
		}
		return Prepared{Data: data, Mimetype: "image/webp", Width: stickerSide, Height: stickerSide,
			Animated: animated}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, conversionTimeout)
	defer cancel()
	work, err := os.MkdirTemp("", "wagw-media-")
	if err != nil {
		return Prepared{}, err
	}
	defer os.RemoveAll(work)
	input := filepath.Join(work, "input")
	if err := os.WriteFile(input, data, 0o600); err != nil {
		return Prepared{}, err
	}
	info, err := probeFile(ctx, input)
	if err != nil {
		return Prepared{}, err
	}
	file := mediaFile{ctx: ctx, work: work, input: input, info: info}
	switch kind {
	case "image", "video":
		return file.visual(data, mimetype, kind == "video")
	case "audio":
		return file.audio(data, mimetype, ptt)
	case "sticker":
		return file.sticker()
	}
	return Prepared{}, fmt.Errorf("no media of type %s", kind)
}

type mediaFile struct {
	ctx         context.Context
	work, input string
	info        probed
}

func (m mediaFile) visual(data []byte, mimetype string, moving bool) (Prepared, error) {
	picture := m.info.stream("video")
	if picture == nil {
		return Prepared{}, fmt.Errorf("not an image or a video ffmpeg can read (%s)", m.info.Format.Name)
	}
	fit := fmt.Sprintf("scale='min(%d,iw)':'min(%d,ih)':force_original_aspect_ratio=decrease", thumbnailSide, thumbnailSide)
	thumbnail, err := runFFmpeg(m.ctx, "-i", m.input, "-frames:v", "1", "-an", "-vf", fit, "-f", "mjpeg", "pipe:1")
	if err != nil {
		return Prepared{}, err
	}
	prepared := Prepared{Data: data, Mimetype: mimetype, Thumbnail: thumbnail, Width: picture.Width, Height: picture.Height}
	if moving {
		prepared.Seconds = m.info.seconds()
	}
	return prepared, nil
}

func (m mediaFile) audio(data []byte, mimetype string, ptt bool) (Prepared, error) {
	sound := m.info.stream("audio")
	if sound == nil {
		return Prepared{}, fmt.Errorf("no sound ffmpeg can read (%s)", m.info.Format.Name)
	}
	prepared := Prepared{Data: data, Mimetype: mimetype, Seconds: m.info.seconds()}
	if !ptt || (m.info.Format.Name == "ogg" && sound.Codec == "opus") {
		return prepared, nil
	}
	output := filepath.Join(m.work, "voice.ogg")
	if _, err := runFFmpeg(m.ctx, "-i", m.input, "-vn", "-map_metadata", "-1", "-c:a", "libopus", "-b:a", "32k",
		"-ac", "1", "-ar", "48000", "-application", "voip", "-f", "ogg", output); err != nil {
		return Prepared{}, err
	}
	prepared.Mimetype = voiceNoteMimetype
	prepared.Data, _ = os.ReadFile(output)
	return prepared, nil
}

// sticker: a still picture padded to a transparent square; a GIF or a video as an animated WebP, at the
// best quality that fits WhatsApp's limit.
func (m mediaFile) sticker() (Prepared, error) {
	if m.info.stream("video") == nil {
		return Prepared{}, fmt.Errorf("not a picture ffmpeg can read (%s)", m.info.Format.Name)
	}
	animated := m.info.seconds() > 0 || m.info.Format.Name == "gif"
	square := fmt.Sprintf("scale=%d:%d:force_original_aspect_ratio=decrease,format=rgba,"+
		"pad=%d:%d:(ow-iw)/2:(oh-ih)/2:color=0x00000000", stickerSide, stickerSide, stickerSide, stickerSide)
	output := filepath.Join(m.work, "sticker.webp")
	var converted []byte
	fits := errors.New("no quality to try")
	for _, quality := range stickerQualities[animated] {
		args := []string{"-i", m.input, "-an", "-frames:v", "1", "-vf", square, "-c:v", "libwebp", "-quality", quality, output}
		if animated {
			args = []string{"-i", m.input, "-an", "-t", "6", "-vf", "fps=15," + square, "-c:v", "libwebp_anim",
				"-loop", "0", "-quality", quality, output}
		}
		if _, err := runFFmpeg(m.ctx, args...); err != nil {
			return Prepared{}, err
		}
		var err error
		if converted, err = os.ReadFile(output); err != nil {
			return Prepared{}, err
		}
		if fits = stickerFits(len(converted), animated); fits == nil {
			break
		}
	}
	if fits != nil {
		return Prepared{}, fmt.Errorf("%w even at the lowest quality: send a simpler or shorter picture", fits)
	}
	return Prepared{Data: converted, Mimetype: "image/webp", Width: stickerSide, Height: stickerSide,
		Animated: animated}, nil
}

func stickerFits(size int, animated bool) error {
	limit, kind := stickerMaxBytes[animated], "a still sticker"
	if animated {
		kind = "an animated sticker"
	}
	if size > limit {
		return fmt.Errorf("the sticker is %d KB, WhatsApp takes %s of at most %d KB", (size+1023)>>10, kind, limit>>10)
	}
	return nil
}

func isWebP(data []byte) bool {
	return len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP"
}

// probed is what ffprobe says of a file (`-show_format -show_streams`).
type probed struct {
	Format struct {
		Name     string `json:"format_name"`
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []probedStream `json:"streams"`
}

type probedStream struct {
	Type   string `json:"codec_type"`
	Codec  string `json:"codec_name"`
	Width  uint32 `json:"width"`
	Height uint32 `json:"height"`
}

func (p probed) stream(kind string) *probedStream {
	for i := range p.Streams {
		if p.Streams[i].Type == kind {
			return &p.Streams[i]
		}
	}
	return nil
}

// seconds, rounded (encoders pad a few milliseconds); a clip under a second is not shown as 0:00.
func (p probed) seconds() uint32 {
	duration, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil || duration <= 0 {
		return 0
	}
	return uint32(max(1, math.Round(duration)))
}

func probeFile(ctx context.Context, path string) (probed, error) {
	out, err := runTool(ctx, "ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path)
	var info probed
	if err != nil {
		return info, fmt.Errorf("not a file ffmpeg can read: %w", err)
	}
	return info, json.Unmarshal(out, &info)
}

func runFFmpeg(ctx context.Context, args ...string) ([]byte, error) {
	out, err := runTool(ctx, "ffmpeg", append([]string{"-v", "error", "-nostdin", "-y"}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("not converted: %w", err)
	}
	return out, nil
}

// runTool runs ffmpeg or ffprobe; its error names the tool's own last words.
func runTool(ctx context.Context, tool string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	command := exec.CommandContext(ctx, tool, args...)
	command.Stdout, command.Stderr = &stdout, &stderr
	err := command.Run()
	if errors.Is(err, exec.ErrNotFound) {
		return nil, fmt.Errorf("%s is not installed (the worker's image has it; scripts/bootstrap.sh installs it)", tool)
	}
	if err != nil {
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		return nil, fmt.Errorf("%s: %s", err, lines[len(lines)-1])
	}
	return stdout.Bytes(), nil
}
