package nifti

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Sizes of the two fixed headers on disk.
const (
	sizeofHdr1 = 348
	sizeofHdr2 = 540
)

// NIfTI datatype codes (nifti1.h).
const (
	DTUint8   = 2
	DTInt16   = 4
	DTInt32   = 8
	DTFloat32 = 16
	DTFloat64 = 64
	DTInt8    = 256
	DTUint16  = 512
	DTUint32  = 768
	DTInt64   = 1024
	DTUint64  = 1280
)

// IntentLabel is NIFTI_INTENT_LABEL: voxel values are indices into a label table.
const IntentLabel = 1002

// ErrFormat is wrapped by every error about a malformed or unsupported file.
var ErrFormat = errors.New("nifti")

// Header holds the header fields of a NIfTI-1 or NIfTI-2 file, widened to the NIfTI-2 types.
type Header struct {
	Version       int              // 1 or 2
	ByteOrder     binary.ByteOrder // the file's byte order
	Magic         string           // "n+1", "ni1", "n+2" or "ni2"
	Dim           [8]int64         // dim[0] is the rank
	IntentP       [3]float64       // intent_p1..3
	IntentCode    int
	IntentName    string
	Datatype      int
	Bitpix        int
	Pixdim        [8]float64 // pixdim[0] is qfac
	VoxOffset     int64
	SclSlope      float64
	SclInter      float64
	CalMax        float64
	CalMin        float64
	SliceDuration float64
	Toffset       float64
	SliceStart    int64
	SliceEnd      int64
	SliceCode     int
	DimInfo       int
	XYZTUnits     int
	Descrip       string
	AuxFile       string
	QformCode     int
	SformCode     int
	Quatern       [3]float64 // quatern_b, c, d
	Qoffset       [3]float64 // qoffset_x, y, z
	Srow          [3][4]float64
}

// dtypeInfo gives the element size and name of the supported datatypes.
func dtypeInfo(code int) (size int, name string, ok bool) {
	switch code {
	case DTUint8:
		return 1, "uint8", true
	case DTInt8:
		return 1, "int8", true
	case DTInt16:
		return 2, "int16", true
	case DTUint16:
		return 2, "uint16", true
	case DTInt32:
		return 4, "int32", true
	case DTUint32:
		return 4, "uint32", true
	case DTFloat32:
		return 4, "float32", true
	case DTInt64:
		return 8, "int64", true
	case DTUint64:
		return 8, "uint64", true
	case DTFloat64:
		return 8, "float64", true
	}
	return 0, "", false
}

// unsupportedDtypeName names the datatypes nifti1.h defines that this reader does not decode.
func unsupportedDtypeName(code int) string {
	switch code {
	case 0:
		return "DT_UNKNOWN (0)"
	case 1:
		return "DT_BINARY (1)"
	case 32:
		return "complex64 (32)"
	case 128:
		return "RGB24 (128)"
	case 1536:
		return "float128 (1536)"
	case 1792:
		return "complex128 (1792)"
	case 2048:
		return "complex256 (2048)"
	case 2304:
		return "RGBA32 (2304)"
	}
	return fmt.Sprintf("unknown datatype code %d", code)
}

// detectHeader reads sizeof_hdr from the first four bytes and returns the version and byte order.
func detectHeader(first4 []byte) (version int, bo binary.ByteOrder, err error) {
	le := int32(binary.LittleEndian.Uint32(first4))
	be := int32(binary.BigEndian.Uint32(first4))
	switch {
	case le == sizeofHdr1:
		return 1, binary.LittleEndian, nil
	case be == sizeofHdr1:
		return 1, binary.BigEndian, nil
	case le == sizeofHdr2:
		return 2, binary.LittleEndian, nil
	case be == sizeofHdr2:
		return 2, binary.BigEndian, nil
	}
	return 0, nil, fmt.Errorf("%w: sizeof_hdr is %d (neither 348 for NIfTI-1 nor 540 for NIfTI-2)", ErrFormat, le)
}

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// parseHeader1 decodes a 348-byte NIfTI-1 header.
func parseHeader1(b []byte, bo binary.ByteOrder) (*Header, error) {
	h := &Header{Version: 1, ByteOrder: bo}
	i16 := func(off int) int64 { return int64(int16(bo.Uint16(b[off:]))) }
	f32 := func(off int) float64 { return float64(math.Float32frombits(bo.Uint32(b[off:]))) }
	h.DimInfo = int(b[39])
	for i := 0; i < 8; i++ {
		h.Dim[i] = i16(40 + 2*i)
		h.Pixdim[i] = f32(76 + 4*i)
	}
	for i := 0; i < 3; i++ {
		h.IntentP[i] = f32(56 + 4*i)
	}
	h.IntentCode = int(i16(68))
	h.Datatype = int(i16(70))
	h.Bitpix = int(i16(72))
	h.SliceStart = i16(74)
	vo := f32(108)
	if math.IsNaN(vo) || vo < 0 || vo > math.MaxInt32 || vo != math.Trunc(vo) {
		return nil, fmt.Errorf("%w: vox_offset %v is not a non-negative integer", ErrFormat, vo)
	}
	h.VoxOffset = int64(vo)
	h.SclSlope = f32(112)
	h.SclInter = f32(116)
	h.SliceEnd = i16(120)
	h.SliceCode = int(b[122])
	h.XYZTUnits = int(b[123])
	h.CalMax = f32(124)
	h.CalMin = f32(128)
	h.SliceDuration = f32(132)
	h.Toffset = f32(136)
	h.Descrip = cstr(b[148:228])
	h.AuxFile = cstr(b[228:252])
	h.QformCode = int(i16(252))
	h.SformCode = int(i16(254))
	for i := 0; i < 3; i++ {
		h.Quatern[i] = f32(256 + 4*i)
		h.Qoffset[i] = f32(268 + 4*i)
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			h.Srow[r][c] = f32(280 + 16*r + 4*c)
		}
	}
	h.IntentName = cstr(b[328:344])
	switch m := string(b[344:348]); m {
	case "n+1\x00":
		h.Magic = "n+1"
	case "ni1\x00":
		h.Magic = "ni1"
	default:
		return nil, fmt.Errorf("%w: magic %q is not NIfTI-1 (\"n+1\" or \"ni1\"); Analyze 7.5 is not supported", ErrFormat, m)
	}
	return h, nil
}

// parseHeader2 decodes a 540-byte NIfTI-2 header.
func parseHeader2(b []byte, bo binary.ByteOrder) (*Header, error) {
	h := &Header{Version: 2, ByteOrder: bo}
	switch m := string(b[4:12]); m {
	case "n+2\x00\r\n\x1a\n":
		h.Magic = "n+2"
	case "ni2\x00\r\n\x1a\n":
		h.Magic = "ni2"
	default:
		return nil, fmt.Errorf("%w: magic %q is not NIfTI-2", ErrFormat, m)
	}
	i16 := func(off int) int64 { return int64(int16(bo.Uint16(b[off:]))) }
	i32 := func(off int) int64 { return int64(int32(bo.Uint32(b[off:]))) }
	i64 := func(off int) int64 { return int64(bo.Uint64(b[off:])) }
	f64 := func(off int) float64 { return math.Float64frombits(bo.Uint64(b[off:])) }
	h.Datatype = int(i16(12))
	h.Bitpix = int(i16(14))
	for i := 0; i < 8; i++ {
		h.Dim[i] = i64(16 + 8*i)
		h.Pixdim[i] = f64(104 + 8*i)
	}
	for i := 0; i < 3; i++ {
		h.IntentP[i] = f64(80 + 8*i)
	}
	h.VoxOffset = i64(168)
	if h.VoxOffset < 0 {
		return nil, fmt.Errorf("%w: negative vox_offset %d", ErrFormat, h.VoxOffset)
	}
	h.SclSlope = f64(176)
	h.SclInter = f64(184)
	h.CalMax = f64(192)
	h.CalMin = f64(200)
	h.SliceDuration = f64(208)
	h.Toffset = f64(216)
	h.SliceStart = i64(224)
	h.SliceEnd = i64(232)
	h.Descrip = cstr(b[240:320])
	h.AuxFile = cstr(b[320:344])
	h.QformCode = int(i32(344))
	h.SformCode = int(i32(348))
	for i := 0; i < 3; i++ {
		h.Quatern[i] = f64(352 + 8*i)
		h.Qoffset[i] = f64(376 + 8*i)
	}
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			h.Srow[r][c] = f64(400 + 32*r + 8*c)
		}
	}
	h.SliceCode = int(i32(496))
	h.XYZTUnits = int(i32(500))
	h.IntentCode = int(i32(504))
	h.IntentName = cstr(b[508:524])
	h.DimInfo = int(b[524])
	return h, nil
}

// shape validates dim[] and returns the dimensions and the voxel count.
func (h *Header) shape() ([]int, int64, error) {
	rank := h.Dim[0]
	if rank < 1 || rank > 7 {
		return nil, 0, fmt.Errorf("%w: dim[0] = %d, want 1..7", ErrFormat, rank)
	}
	dims := make([]int, rank)
	n := int64(1)
	for i := 1; i <= int(rank); i++ {
		d := h.Dim[i]
		if d < 1 {
			return nil, 0, fmt.Errorf("%w: dim[%d] = %d, want >= 1", ErrFormat, i, d)
		}
		if d > math.MaxInt32 || n > math.MaxInt64/d {
			return nil, 0, fmt.Errorf("%w: dimensions %v overflow", ErrFormat, h.Dim[1:rank+1])
		}
		n *= d
		dims[i-1] = int(d)
	}
	return dims, n, nil
}

// Scaling returns the slope and intercept that map raw values to physical values, following
// nibabel: a zero or non-finite slope means no scaling; a valid slope with a non-finite
// intercept is an error.
func (h *Header) Scaling() (slope, inter float64, err error) {
	if h.SclSlope == 0 || math.IsNaN(h.SclSlope) || math.IsInf(h.SclSlope, 0) {
		return 1, 0, nil
	}
	if math.IsNaN(h.SclInter) || math.IsInf(h.SclInter, 0) {
		return 0, 0, fmt.Errorf("%w: valid scl_slope %v but invalid scl_inter %v", ErrFormat, h.SclSlope, h.SclInter)
	}
	return h.SclSlope, h.SclInter, nil
}
