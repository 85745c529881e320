//go:build amd64 && !purego

#include "textflag.h"

// func addRelPosMaxAVX2(row, rh *float32, nh int, rw *float32, kw int) float32
TEXT ·addRelPosMaxAVX2(SB), NOSPLIT, $0-44
	MOVQ row+0(FP), DI
	MOVQ rh+8(FP), SI
	MOVQ nh+16(FP), CX
	MOVQ rw+24(FP), DX
	MOVQ kw+32(FP), R8
	MOVL $0xff800000, AX // -Inf
	MOVL AX, X15
	VBROADCASTSS X15, Y15

rowloop:
	VBROADCASTSS (SI), Y0
	MOVQ DX, R9
	MOVQ R8, R10

colloop:
	VADDPS (R9), Y0, Y1 // rh[ky] + rw[kx]
	VADDPS (DI), Y1, Y1 // s + (rh + rw), as addRelPosRow rounds
	VMOVUPS Y1, (DI)
	VMAXPS Y1, Y15, Y15
	ADDQ $32, R9
	ADDQ $32, DI
	SUBQ $8, R10
	JNZ colloop

	ADDQ $4, SI
	DECQ CX
	JNZ rowloop

	VEXTRACTF128 $1, Y15, X0
	VMAXPS X0, X15, X15
	VPERMILPS $0x4E, X15, X0
	VMAXPS X0, X15, X15
	VPERMILPS $0xB1, X15, X0
	VMAXPS X0, X15, X15
	VZEROUPPER
	MOVSS X15, ret+40(FP)
	RET
