package analytics

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/portico-gw/portico"
)

// SpoolFile is the name of the spool file in Config.SpoolDir.
const SpoolFile = "analytics.spool"

// The spool is a sequence of frames, one per batch. A frame is a 28-byte
// header followed by the batch (a []portico.Record) as a self-contained
// gob stream:
//
//	offset  size  field
//	0       4     magic "PAS1"
//	4       4     payload length, big-endian
//	8       4     CRC-32C of bytes 12..23 and the payload
//	12      4     number of records in the batch
//	16      8     when the batch was spooled, Unix nanoseconds
//	24      1     state: 0 pending, 1 replayed (rewritten in place)
//	25      3     zero
const (
	frameMagic    = 0x50415331 // "PAS1"
	headerSize    = 28
	stateOffset   = 24
	maxPayload    = 1 << 30
	statePending  = 0
	stateReplayed = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// errTorn: no complete frame at this offset (a write cut short by a
	// crash, or a header that is not one). Nothing after it can be trusted.
	errTorn = errors.New("torn or unreadable frame")
	// errCorrupt: a complete frame whose checksum or content is wrong; the
	// frames after it are still readable.
	errCorrupt = errors.New("corrupt frame")
	// errSpoolFull: the frame would take the spool past MaxSpoolBytes.
	errSpoolFull = errors.New("spool full")
)

// frame is one batch read back from the spool.
type frame struct {
	off, end int64 // where the frame starts and where the next one starts
	count    int   // records, from the header
	at       time.Time
	state    byte
	records  []portico.Record
}

// spool is the append-only spool file. It does no locking of its own: the
// Recorder calls append, reset, advance and close under its spool mutex,
// and read and markReplayed only from the replayer, on frames below size,
// which never change but for the state byte that the replayer itself
// writes.
type spool struct {
	f       *os.File
	path    string
	size    int64 // end of the last complete frame: where the next one goes
	next    int64 // where replay resumes; every frame before it is done
	pending int64 // frames not yet replayed
	records int64 // records in those frames
	oldest  time.Time
}

// openSpool opens (creating it if need be) the spool file in dir and
// walks its frame headers. A torn last frame, the trace of a crash during
// a write, is logged and cut off so that new frames follow the last
// complete one.
func openSpool(dir string, log *slog.Logger) (*spool, error) {
	path := filepath.Join(dir, SpoolFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("analytics: open spool: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("analytics: spool %s: %w", path, err)
	}
	s := &spool{f: f, path: path}
	if err := s.scan(log); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// scan walks the frame headers from the start of the file (each step
// advances by at least a header, so it ends), setting size, next, pending
// and records. Only the last frame can be torn, for frames are written
// whole and fsynced one after the other, so only its payload checksum is
// checked here; the replayer checks every frame it reads.
func (s *spool) scan(log *slog.Logger) error {
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("analytics: spool: %w", err)
	}
	limit := fi.Size()
	s.next = -1
	var off int64
	for off < limit {
		fr, err := s.readHeader(off, limit)
		if err == nil && fr.end == limit {
			_, err = s.read(off, limit) // the last frame: checksum it
		}
		if errors.Is(err, errTorn) || errors.Is(err, errCorrupt) && fr.end == limit {
			log.Warn("analytics: torn frame at the end of the spool skipped",
				"path", s.path, "offset", off, "bytes", limit-off)
			if err := s.f.Truncate(off); err != nil {
				return fmt.Errorf("analytics: spool: cut torn frame: %w", err)
			}
			if err := s.f.Sync(); err != nil {
				return fmt.Errorf("analytics: spool: %w", err)
			}
			break
		}
		if err != nil {
			return fmt.Errorf("analytics: spool: %w", err)
		}
		if fr.state == statePending {
			if s.next < 0 {
				s.next, s.oldest = off, fr.at
			}
			s.pending++
			s.records += int64(fr.count)
		}
		off = fr.end
	}
	s.size = off
	if s.next < 0 {
		s.next = s.size
	}
	return nil
}

// readHeader reads the header of the frame at off; limit is the end of the
// readable file.
func (s *spool) readHeader(off, limit int64) (frame, error) {
	var h [headerSize]byte
	if limit-off < headerSize {
		return frame{off: off}, errTorn
	}
	if _, err := s.f.ReadAt(h[:], off); err != nil {
		return frame{off: off}, err
	}
	n := int64(binary.BigEndian.Uint32(h[4:]))
	if binary.BigEndian.Uint32(h[0:]) != frameMagic || n > maxPayload || off+headerSize+n > limit {
		return frame{off: off}, errTorn
	}
	return frame{
		off:   off,
		end:   off + headerSize + n,
		count: int(binary.BigEndian.Uint32(h[12:])),
		at:    time.Unix(0, int64(binary.BigEndian.Uint64(h[16:]))).UTC(),
		state: h[stateOffset],
	}, nil
}

// read reads and decodes the frame at off. On errCorrupt the returned
// frame still has its end and count, so the caller can skip it.
func (s *spool) read(off, limit int64) (frame, error) {
	fr, err := s.readHeader(off, limit)
	if err != nil {
		return fr, err
	}
	buf := make([]byte, fr.end-off)
	if _, err := s.f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return fr, err
	}
	return fr, decodeFrame(buf, &fr)
}

// decodeFrame checks and decodes the whole frame buf into fr.records.
func decodeFrame(buf []byte, fr *frame) error {
	payload := buf[headerSize:]
	crc := crc32.Update(crc32.Checksum(buf[12:24], castagnoli), castagnoli, payload)
	if crc != binary.BigEndian.Uint32(buf[8:]) {
		return fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	var recs []portico.Record
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&recs); err != nil {
		return fmt.Errorf("%w: %v", errCorrupt, err)
	}
	if len(recs) != fr.count {
		return fmt.Errorf("%w: %d records, header says %d", errCorrupt, len(recs), fr.count)
	}
	fr.records = recs
	return nil
}

// encodeFrame returns the frame of batch b, spooled at at, ready to be
// written in one call.
func encodeFrame(b []portico.Record, at time.Time) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(headerSize + 512 + 160*len(b))
	buf.Write(make([]byte, headerSize))
	if err := gob.NewEncoder(&buf).Encode(b); err != nil {
		return nil, fmt.Errorf("analytics: encode batch: %w", err)
	}
	p := buf.Bytes()
	payload := p[headerSize:]
	if len(payload) > maxPayload {
		return nil, fmt.Errorf("analytics: encode batch: %d bytes, over the frame limit", len(payload))
	}
	binary.BigEndian.PutUint32(p[0:], frameMagic)
	binary.BigEndian.PutUint32(p[4:], uint32(len(payload)))
	binary.BigEndian.PutUint32(p[12:], uint32(len(b)))
	binary.BigEndian.PutUint64(p[16:], uint64(at.UnixNano()))
	crc := crc32.Update(crc32.Checksum(p[12:24], castagnoli), castagnoli, payload)
	binary.BigEndian.PutUint32(p[8:], crc)
	return p, nil
}

// append writes frame (of count records) after the last frame with one
// write call and fsyncs it. It fails with errSpoolFull when the spool
// would grow past max; on a write error it cuts off what was written.
func (s *spool) append(frame []byte, count int, at time.Time, max int64) error {
	if s.size+int64(len(frame)) > max {
		return errSpoolFull
	}
	_, err := s.f.WriteAt(frame, s.size)
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		s.f.Truncate(s.size) // best effort: the next frame overwrites it anyway
		return err
	}
	if s.pending == 0 {
		s.oldest = at
	}
	s.size += int64(len(frame))
	s.pending++
	s.records += int64(count)
	return nil
}

// markReplayed durably marks the frame at off as replayed, so that a
// restart does not replay it again.
func (s *spool) markReplayed(off int64) error {
	if _, err := s.f.WriteAt([]byte{stateReplayed}, off+stateOffset); err != nil {
		return err
	}
	return s.f.Sync()
}

// advance moves replay past fr; pending says whether fr was counted as
// pending.
func (s *spool) advance(fr frame, pending bool) {
	s.next = fr.end
	if pending {
		s.pending--
		s.records -= int64(fr.count)
	}
}

// reset empties the spool once everything in it has been replayed.
func (s *spool) reset() error {
	s.next, s.pending, s.records, s.oldest = s.size, 0, 0, time.Time{}
	if s.size == 0 {
		return nil
	}
	if err := s.f.Truncate(0); err != nil {
		return err // the frames are all marked replayed: harmless but for the space
	}
	s.size, s.next = 0, 0
	return s.f.Sync()
}

// close closes the file, removing it when it holds nothing to replay.
func (s *spool) close() error {
	var err error
	if s.pending == 0 {
		err = os.Remove(s.path)
	}
	return errors.Join(err, s.f.Close())
}
