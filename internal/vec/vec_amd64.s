// Code generated from a one-off script (see vec.go for the formulas); DO NOT EDIT by hand
// without re-running the tests in vec_test.go, which compare every kernel with its Go twin.

#include "textflag.h"

DATA vconst<>+0(SB)/4, $0xc2aeac4f
DATA vconst<>+4(SB)/4, $0xc2aeac4f
DATA vconst<>+8(SB)/4, $0xc2aeac4f
DATA vconst<>+12(SB)/4, $0xc2aeac4f
DATA vconst<>+16(SB)/4, $0xc2aeac4f
DATA vconst<>+20(SB)/4, $0xc2aeac4f
DATA vconst<>+24(SB)/4, $0xc2aeac4f
DATA vconst<>+28(SB)/4, $0xc2aeac4f
DATA vconst<>+32(SB)/4, $0x42b00000
DATA vconst<>+36(SB)/4, $0x42b00000
DATA vconst<>+40(SB)/4, $0x42b00000
DATA vconst<>+44(SB)/4, $0x42b00000
DATA vconst<>+48(SB)/4, $0x42b00000
DATA vconst<>+52(SB)/4, $0x42b00000
DATA vconst<>+56(SB)/4, $0x42b00000
DATA vconst<>+60(SB)/4, $0x42b00000
DATA vconst<>+64(SB)/4, $0x3fb8aa3b
DATA vconst<>+68(SB)/4, $0x3fb8aa3b
DATA vconst<>+72(SB)/4, $0x3fb8aa3b
DATA vconst<>+76(SB)/4, $0x3fb8aa3b
DATA vconst<>+80(SB)/4, $0x3fb8aa3b
DATA vconst<>+84(SB)/4, $0x3fb8aa3b
DATA vconst<>+88(SB)/4, $0x3fb8aa3b
DATA vconst<>+92(SB)/4, $0x3fb8aa3b
DATA vconst<>+96(SB)/4, $0x3f318000
DATA vconst<>+100(SB)/4, $0x3f318000
DATA vconst<>+104(SB)/4, $0x3f318000
DATA vconst<>+108(SB)/4, $0x3f318000
DATA vconst<>+112(SB)/4, $0x3f318000
DATA vconst<>+116(SB)/4, $0x3f318000
DATA vconst<>+120(SB)/4, $0x3f318000
DATA vconst<>+124(SB)/4, $0x3f318000
DATA vconst<>+128(SB)/4, $0xb95e8083
DATA vconst<>+132(SB)/4, $0xb95e8083
DATA vconst<>+136(SB)/4, $0xb95e8083
DATA vconst<>+140(SB)/4, $0xb95e8083
DATA vconst<>+144(SB)/4, $0xb95e8083
DATA vconst<>+148(SB)/4, $0xb95e8083
DATA vconst<>+152(SB)/4, $0xb95e8083
DATA vconst<>+156(SB)/4, $0xb95e8083
DATA vconst<>+160(SB)/4, $0x39500d01
DATA vconst<>+164(SB)/4, $0x39500d01
DATA vconst<>+168(SB)/4, $0x39500d01
DATA vconst<>+172(SB)/4, $0x39500d01
DATA vconst<>+176(SB)/4, $0x39500d01
DATA vconst<>+180(SB)/4, $0x39500d01
DATA vconst<>+184(SB)/4, $0x39500d01
DATA vconst<>+188(SB)/4, $0x39500d01
DATA vconst<>+192(SB)/4, $0x3ab60b61
DATA vconst<>+196(SB)/4, $0x3ab60b61
DATA vconst<>+200(SB)/4, $0x3ab60b61
DATA vconst<>+204(SB)/4, $0x3ab60b61
DATA vconst<>+208(SB)/4, $0x3ab60b61
DATA vconst<>+212(SB)/4, $0x3ab60b61
DATA vconst<>+216(SB)/4, $0x3ab60b61
DATA vconst<>+220(SB)/4, $0x3ab60b61
DATA vconst<>+224(SB)/4, $0x3c088889
DATA vconst<>+228(SB)/4, $0x3c088889
DATA vconst<>+232(SB)/4, $0x3c088889
DATA vconst<>+236(SB)/4, $0x3c088889
DATA vconst<>+240(SB)/4, $0x3c088889
DATA vconst<>+244(SB)/4, $0x3c088889
DATA vconst<>+248(SB)/4, $0x3c088889
DATA vconst<>+252(SB)/4, $0x3c088889
DATA vconst<>+256(SB)/4, $0x3d2aaaab
DATA vconst<>+260(SB)/4, $0x3d2aaaab
DATA vconst<>+264(SB)/4, $0x3d2aaaab
DATA vconst<>+268(SB)/4, $0x3d2aaaab
DATA vconst<>+272(SB)/4, $0x3d2aaaab
DATA vconst<>+276(SB)/4, $0x3d2aaaab
DATA vconst<>+280(SB)/4, $0x3d2aaaab
DATA vconst<>+284(SB)/4, $0x3d2aaaab
DATA vconst<>+288(SB)/4, $0x3e2aaaab
DATA vconst<>+292(SB)/4, $0x3e2aaaab
DATA vconst<>+296(SB)/4, $0x3e2aaaab
DATA vconst<>+300(SB)/4, $0x3e2aaaab
DATA vconst<>+304(SB)/4, $0x3e2aaaab
DATA vconst<>+308(SB)/4, $0x3e2aaaab
DATA vconst<>+312(SB)/4, $0x3e2aaaab
DATA vconst<>+316(SB)/4, $0x3e2aaaab
DATA vconst<>+320(SB)/4, $0x3f000000
DATA vconst<>+324(SB)/4, $0x3f000000
DATA vconst<>+328(SB)/4, $0x3f000000
DATA vconst<>+332(SB)/4, $0x3f000000
DATA vconst<>+336(SB)/4, $0x3f000000
DATA vconst<>+340(SB)/4, $0x3f000000
DATA vconst<>+344(SB)/4, $0x3f000000
DATA vconst<>+348(SB)/4, $0x3f000000
DATA vconst<>+352(SB)/4, $0x3f800000
DATA vconst<>+356(SB)/4, $0x3f800000
DATA vconst<>+360(SB)/4, $0x3f800000
DATA vconst<>+364(SB)/4, $0x3f800000
DATA vconst<>+368(SB)/4, $0x3f800000
DATA vconst<>+372(SB)/4, $0x3f800000
DATA vconst<>+376(SB)/4, $0x3f800000
DATA vconst<>+380(SB)/4, $0x3f800000
DATA vconst<>+384(SB)/4, $0x0000007f
DATA vconst<>+388(SB)/4, $0x0000007f
DATA vconst<>+392(SB)/4, $0x0000007f
DATA vconst<>+396(SB)/4, $0x0000007f
DATA vconst<>+400(SB)/4, $0x0000007f
DATA vconst<>+404(SB)/4, $0x0000007f
DATA vconst<>+408(SB)/4, $0x0000007f
DATA vconst<>+412(SB)/4, $0x0000007f
DATA vconst<>+416(SB)/4, $0x7fffffff
DATA vconst<>+420(SB)/4, $0x7fffffff
DATA vconst<>+424(SB)/4, $0x7fffffff
DATA vconst<>+428(SB)/4, $0x7fffffff
DATA vconst<>+432(SB)/4, $0x7fffffff
DATA vconst<>+436(SB)/4, $0x7fffffff
DATA vconst<>+440(SB)/4, $0x7fffffff
DATA vconst<>+444(SB)/4, $0x7fffffff
DATA vconst<>+448(SB)/4, $0x3f3504f3
DATA vconst<>+452(SB)/4, $0x3f3504f3
DATA vconst<>+456(SB)/4, $0x3f3504f3
DATA vconst<>+460(SB)/4, $0x3f3504f3
DATA vconst<>+464(SB)/4, $0x3f3504f3
DATA vconst<>+468(SB)/4, $0x3f3504f3
DATA vconst<>+472(SB)/4, $0x3f3504f3
DATA vconst<>+476(SB)/4, $0x3f3504f3
DATA vconst<>+480(SB)/4, $0x40000000
DATA vconst<>+484(SB)/4, $0x40000000
DATA vconst<>+488(SB)/4, $0x40000000
DATA vconst<>+492(SB)/4, $0x40000000
DATA vconst<>+496(SB)/4, $0x40000000
DATA vconst<>+500(SB)/4, $0x40000000
DATA vconst<>+504(SB)/4, $0x40000000
DATA vconst<>+508(SB)/4, $0x40000000
DATA vconst<>+512(SB)/4, $0x3f000000
DATA vconst<>+516(SB)/4, $0x3f000000
DATA vconst<>+520(SB)/4, $0x3f000000
DATA vconst<>+524(SB)/4, $0x3f000000
DATA vconst<>+528(SB)/4, $0x3f000000
DATA vconst<>+532(SB)/4, $0x3f000000
DATA vconst<>+536(SB)/4, $0x3f000000
DATA vconst<>+540(SB)/4, $0x3f000000
DATA vconst<>+544(SB)/4, $0x3e123f3f
DATA vconst<>+548(SB)/4, $0x3e123f3f
DATA vconst<>+552(SB)/4, $0x3e123f3f
DATA vconst<>+556(SB)/4, $0x3e123f3f
DATA vconst<>+560(SB)/4, $0x3e123f3f
DATA vconst<>+564(SB)/4, $0x3e123f3f
DATA vconst<>+568(SB)/4, $0x3e123f3f
DATA vconst<>+572(SB)/4, $0x3e123f3f
DATA vconst<>+576(SB)/4, $0xbf2b5677
DATA vconst<>+580(SB)/4, $0xbf2b5677
DATA vconst<>+584(SB)/4, $0xbf2b5677
DATA vconst<>+588(SB)/4, $0xbf2b5677
DATA vconst<>+592(SB)/4, $0xbf2b5677
DATA vconst<>+596(SB)/4, $0xbf2b5677
DATA vconst<>+600(SB)/4, $0xbf2b5677
DATA vconst<>+604(SB)/4, $0xbf2b5677
DATA vconst<>+608(SB)/4, $0x3f909518
DATA vconst<>+612(SB)/4, $0x3f909518
DATA vconst<>+616(SB)/4, $0x3f909518
DATA vconst<>+620(SB)/4, $0x3f909518
DATA vconst<>+624(SB)/4, $0x3f909518
DATA vconst<>+628(SB)/4, $0x3f909518
DATA vconst<>+632(SB)/4, $0x3f909518
DATA vconst<>+636(SB)/4, $0x3f909518
DATA vconst<>+640(SB)/4, $0xbf28ffbf
DATA vconst<>+644(SB)/4, $0xbf28ffbf
DATA vconst<>+648(SB)/4, $0xbf28ffbf
DATA vconst<>+652(SB)/4, $0xbf28ffbf
DATA vconst<>+656(SB)/4, $0xbf28ffbf
DATA vconst<>+660(SB)/4, $0xbf28ffbf
DATA vconst<>+664(SB)/4, $0xbf28ffbf
DATA vconst<>+668(SB)/4, $0xbf28ffbf
DATA vconst<>+672(SB)/4, $0xbde12d74
DATA vconst<>+676(SB)/4, $0xbde12d74
DATA vconst<>+680(SB)/4, $0xbde12d74
DATA vconst<>+684(SB)/4, $0xbde12d74
DATA vconst<>+688(SB)/4, $0xbde12d74
DATA vconst<>+692(SB)/4, $0xbde12d74
DATA vconst<>+696(SB)/4, $0xbde12d74
DATA vconst<>+700(SB)/4, $0xbde12d74
DATA vconst<>+704(SB)/4, $0x3c8a1205
DATA vconst<>+708(SB)/4, $0x3c8a1205
DATA vconst<>+712(SB)/4, $0x3c8a1205
DATA vconst<>+716(SB)/4, $0x3c8a1205
DATA vconst<>+720(SB)/4, $0x3c8a1205
DATA vconst<>+724(SB)/4, $0x3c8a1205
DATA vconst<>+728(SB)/4, $0x3c8a1205
DATA vconst<>+732(SB)/4, $0x3c8a1205
DATA vconst<>+736(SB)/4, $0x3cf0c601
DATA vconst<>+740(SB)/4, $0x3cf0c601
DATA vconst<>+744(SB)/4, $0x3cf0c601
DATA vconst<>+748(SB)/4, $0x3cf0c601
DATA vconst<>+752(SB)/4, $0x3cf0c601
DATA vconst<>+756(SB)/4, $0x3cf0c601
DATA vconst<>+760(SB)/4, $0x3cf0c601
DATA vconst<>+764(SB)/4, $0x3cf0c601
DATA vconst<>+768(SB)/4, $0x3ec6814f
DATA vconst<>+772(SB)/4, $0x3ec6814f
DATA vconst<>+776(SB)/4, $0x3ec6814f
DATA vconst<>+780(SB)/4, $0x3ec6814f
DATA vconst<>+784(SB)/4, $0x3ec6814f
DATA vconst<>+788(SB)/4, $0x3ec6814f
DATA vconst<>+792(SB)/4, $0x3ec6814f
DATA vconst<>+796(SB)/4, $0x3ec6814f
DATA vconst<>+800(SB)/4, $0x3f7f9e85
DATA vconst<>+804(SB)/4, $0x3f7f9e85
DATA vconst<>+808(SB)/4, $0x3f7f9e85
DATA vconst<>+812(SB)/4, $0x3f7f9e85
DATA vconst<>+816(SB)/4, $0x3f7f9e85
DATA vconst<>+820(SB)/4, $0x3f7f9e85
DATA vconst<>+824(SB)/4, $0x3f7f9e85
DATA vconst<>+828(SB)/4, $0x3f7f9e85
DATA vconst<>+832(SB)/4, $0xbfa1fa03
DATA vconst<>+836(SB)/4, $0xbfa1fa03
DATA vconst<>+840(SB)/4, $0xbfa1fa03
DATA vconst<>+844(SB)/4, $0xbfa1fa03
DATA vconst<>+848(SB)/4, $0xbfa1fa03
DATA vconst<>+852(SB)/4, $0xbfa1fa03
DATA vconst<>+856(SB)/4, $0xbfa1fa03
DATA vconst<>+860(SB)/4, $0xbfa1fa03
GLOBL vconst<>(SB), RODATA|NOPTR, $864

// func maxAVX2(x []float32) float32
TEXT ·maxAVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVUPS Y0, Y3
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
maxloop16:
	CMPQ CX, $16
	JB maxtail
	VMOVUPS (SI), Y1
	VMOVUPS 32(SI), Y4
	VCMPPS $3, Y1, Y1, Y2
	VCMPPS $3, Y4, Y4, Y5
	VORPS Y2, Y7, Y7
	VORPS Y5, Y8, Y8
	VMAXPS Y1, Y0, Y0
	VMAXPS Y4, Y3, Y3
	ADDQ $64, SI
	SUBQ $16, CX
	JMP maxloop16
maxtail:
	CMPQ CX, $0
	JE maxreduce
	VMOVUPS (SI), Y1
	VCMPPS $3, Y1, Y1, Y2
	VORPS Y2, Y7, Y7
	VMAXPS Y1, Y0, Y0
maxreduce:
	VMAXPS Y3, Y0, Y0
	VORPS Y8, Y7, Y7
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	VPTEST Y7, Y7
	JZ maxdone
	MOVL $0x7fc00000, AX
	MOVL AX, ret+24(FP)
	VZEROUPPER
	RET
maxdone:
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func expSubSumAVX2(dst, src []float32, m float32) float64
TEXT ·expSubSumAVX2(SB), NOSPLIT, $0-64
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	VBROADCASTSS m+48(FP), Y12
	VMOVUPS vconst<>+0(SB), Y13
	VMOVUPS vconst<>+32(SB), Y14
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
exploop16:
	CMPQ CX, $16
	JB exptail
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y6
	VSUBPS Y12, Y0, Y0
	VSUBPS Y12, Y6, Y6
	VCMPPS $1, Y13, Y0, Y3
	VMAXPS Y0, Y13, Y0
	VMINPS Y0, Y14, Y0
	VMULPS vconst<>+64(SB), Y0, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS vconst<>+96(SB), Y1, Y0
	VFNMADD231PS vconst<>+128(SB), Y1, Y0
	VMOVUPS vconst<>+160(SB), Y2
	VFMADD213PS vconst<>+192(SB), Y0, Y2
	VFMADD213PS vconst<>+224(SB), Y0, Y2
	VFMADD213PS vconst<>+256(SB), Y0, Y2
	VFMADD213PS vconst<>+288(SB), Y0, Y2
	VFMADD213PS vconst<>+320(SB), Y0, Y2
	VFMADD213PS vconst<>+352(SB), Y0, Y2
	VFMADD213PS vconst<>+352(SB), Y0, Y2
	VCVTPS2DQ Y1, Y1
	VPADDD vconst<>+384(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y2, Y0
	VANDNPS Y0, Y3, Y0
	VCMPPS $1, Y13, Y6, Y9
	VMAXPS Y6, Y13, Y6
	VMINPS Y6, Y14, Y6
	VMULPS vconst<>+64(SB), Y6, Y7
	VROUNDPS $0, Y7, Y7
	VFNMADD231PS vconst<>+96(SB), Y7, Y6
	VFNMADD231PS vconst<>+128(SB), Y7, Y6
	VMOVUPS vconst<>+160(SB), Y8
	VFMADD213PS vconst<>+192(SB), Y6, Y8
	VFMADD213PS vconst<>+224(SB), Y6, Y8
	VFMADD213PS vconst<>+256(SB), Y6, Y8
	VFMADD213PS vconst<>+288(SB), Y6, Y8
	VFMADD213PS vconst<>+320(SB), Y6, Y8
	VFMADD213PS vconst<>+352(SB), Y6, Y8
	VFMADD213PS vconst<>+352(SB), Y6, Y8
	VCVTPS2DQ Y7, Y7
	VPADDD vconst<>+384(SB), Y7, Y7
	VPSLLD $23, Y7, Y7
	VMULPS Y7, Y8, Y6
	VANDNPS Y6, Y9, Y6
	VMOVUPS Y0, (DI)
	VMOVUPS Y6, 32(DI)
	VCVTPS2PD X0, Y4
	VEXTRACTF128 $1, Y0, X5
	VCVTPS2PD X5, Y5
	VADDPD Y4, Y10, Y10
	VADDPD Y5, Y11, Y11
	VCVTPS2PD X6, Y4
	VEXTRACTF128 $1, Y6, X5
	VCVTPS2PD X5, Y5
	VADDPD Y4, Y10, Y10
	VADDPD Y5, Y11, Y11
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP exploop16
exptail:
	CMPQ CX, $0
	JE expdone
	VMOVUPS (SI), Y0
	VSUBPS Y12, Y0, Y0
	VCMPPS $1, Y13, Y0, Y3
	VMAXPS Y0, Y13, Y0
	VMINPS Y0, Y14, Y0
	VMULPS vconst<>+64(SB), Y0, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS vconst<>+96(SB), Y1, Y0
	VFNMADD231PS vconst<>+128(SB), Y1, Y0
	VMOVUPS vconst<>+160(SB), Y2
	VFMADD213PS vconst<>+192(SB), Y0, Y2
	VFMADD213PS vconst<>+224(SB), Y0, Y2
	VFMADD213PS vconst<>+256(SB), Y0, Y2
	VFMADD213PS vconst<>+288(SB), Y0, Y2
	VFMADD213PS vconst<>+320(SB), Y0, Y2
	VFMADD213PS vconst<>+352(SB), Y0, Y2
	VFMADD213PS vconst<>+352(SB), Y0, Y2
	VCVTPS2DQ Y1, Y1
	VPADDD vconst<>+384(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y2, Y0
	VANDNPS Y0, Y3, Y0
	VMOVUPS Y0, (DI)
	VCVTPS2PD X0, Y4
	VEXTRACTF128 $1, Y0, X5
	VCVTPS2PD X5, Y5
	VADDPD Y4, Y10, Y10
	VADDPD Y5, Y11, Y11
expdone:
	VADDPD Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X11
	VADDPD X11, X10, X10
	VPERMILPD $1, X10, X11
	VADDSD X11, X10, X10
	VMOVSD X10, ret+56(FP)
	VZEROUPPER
	RET

// func scaleAVX2(x []float32, s float32)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-28
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS s+24(FP), Y1
scaleloop:
	VMULPS (SI), Y1, Y0
	VMOVUPS Y0, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ scaleloop
	VZEROUPPER
	RET

// func geluAVX2(dst, src []float32)
TEXT ·geluAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	VMOVUPS vconst<>+0(SB), Y13
	VMOVUPS vconst<>+32(SB), Y14
geluloop16:
	CMPQ CX, $16
	JB gelutail
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y6
	VANDPS vconst<>+416(SB), Y0, Y1
	VMULPS vconst<>+448(SB), Y1, Y2
	VADDPS vconst<>+480(SB), Y2, Y2
	VMOVUPS vconst<>+480(SB), Y4
	VDIVPS Y2, Y4, Y2
	VMOVUPS vconst<>+544(SB), Y3
	VFMADD213PS vconst<>+576(SB), Y2, Y3
	VFMADD213PS vconst<>+608(SB), Y2, Y3
	VFMADD213PS vconst<>+640(SB), Y2, Y3
	VFMADD213PS vconst<>+672(SB), Y2, Y3
	VFMADD213PS vconst<>+704(SB), Y2, Y3
	VFMADD213PS vconst<>+736(SB), Y2, Y3
	VFMADD213PS vconst<>+768(SB), Y2, Y3
	VFMADD213PS vconst<>+800(SB), Y2, Y3
	VFMADD213PS vconst<>+832(SB), Y2, Y3
	VMULPS vconst<>+512(SB), Y1, Y4
	VFNMADD231PS Y4, Y1, Y3
	VCMPPS $1, Y13, Y3, Y5
	VMAXPS Y3, Y13, Y3
	VMINPS Y3, Y14, Y3
	VMULPS vconst<>+64(SB), Y3, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS vconst<>+96(SB), Y1, Y3
	VFNMADD231PS vconst<>+128(SB), Y1, Y3
	VMOVUPS vconst<>+160(SB), Y4
	VFMADD213PS vconst<>+192(SB), Y3, Y4
	VFMADD213PS vconst<>+224(SB), Y3, Y4
	VFMADD213PS vconst<>+256(SB), Y3, Y4
	VFMADD213PS vconst<>+288(SB), Y3, Y4
	VFMADD213PS vconst<>+320(SB), Y3, Y4
	VFMADD213PS vconst<>+352(SB), Y3, Y4
	VFMADD213PS vconst<>+352(SB), Y3, Y4
	VCVTPS2DQ Y1, Y1
	VPADDD vconst<>+384(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y4, Y3
	VANDNPS Y3, Y5, Y3
	VMULPS Y2, Y3, Y3
	VMULPS vconst<>+512(SB), Y3, Y3
	VMOVUPS vconst<>+352(SB), Y1
	VSUBPS Y3, Y1, Y1
	VBLENDVPS Y0, Y3, Y1, Y4
	VMULPS Y4, Y0, Y0
	VANDPS vconst<>+416(SB), Y6, Y7
	VMULPS vconst<>+448(SB), Y7, Y8
	VADDPS vconst<>+480(SB), Y8, Y8
	VMOVUPS vconst<>+480(SB), Y10
	VDIVPS Y8, Y10, Y8
	VMOVUPS vconst<>+544(SB), Y9
	VFMADD213PS vconst<>+576(SB), Y8, Y9
	VFMADD213PS vconst<>+608(SB), Y8, Y9
	VFMADD213PS vconst<>+640(SB), Y8, Y9
	VFMADD213PS vconst<>+672(SB), Y8, Y9
	VFMADD213PS vconst<>+704(SB), Y8, Y9
	VFMADD213PS vconst<>+736(SB), Y8, Y9
	VFMADD213PS vconst<>+768(SB), Y8, Y9
	VFMADD213PS vconst<>+800(SB), Y8, Y9
	VFMADD213PS vconst<>+832(SB), Y8, Y9
	VMULPS vconst<>+512(SB), Y7, Y10
	VFNMADD231PS Y10, Y7, Y9
	VCMPPS $1, Y13, Y9, Y11
	VMAXPS Y9, Y13, Y9
	VMINPS Y9, Y14, Y9
	VMULPS vconst<>+64(SB), Y9, Y7
	VROUNDPS $0, Y7, Y7
	VFNMADD231PS vconst<>+96(SB), Y7, Y9
	VFNMADD231PS vconst<>+128(SB), Y7, Y9
	VMOVUPS vconst<>+160(SB), Y10
	VFMADD213PS vconst<>+192(SB), Y9, Y10
	VFMADD213PS vconst<>+224(SB), Y9, Y10
	VFMADD213PS vconst<>+256(SB), Y9, Y10
	VFMADD213PS vconst<>+288(SB), Y9, Y10
	VFMADD213PS vconst<>+320(SB), Y9, Y10
	VFMADD213PS vconst<>+352(SB), Y9, Y10
	VFMADD213PS vconst<>+352(SB), Y9, Y10
	VCVTPS2DQ Y7, Y7
	VPADDD vconst<>+384(SB), Y7, Y7
	VPSLLD $23, Y7, Y7
	VMULPS Y7, Y10, Y9
	VANDNPS Y9, Y11, Y9
	VMULPS Y8, Y9, Y9
	VMULPS vconst<>+512(SB), Y9, Y9
	VMOVUPS vconst<>+352(SB), Y7
	VSUBPS Y9, Y7, Y7
	VBLENDVPS Y6, Y9, Y7, Y10
	VMULPS Y10, Y6, Y6
	VMOVUPS Y0, (DI)
	VMOVUPS Y6, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP geluloop16
gelutail:
	CMPQ CX, $0
	JE geludone
	VMOVUPS (SI), Y0
	VANDPS vconst<>+416(SB), Y0, Y1
	VMULPS vconst<>+448(SB), Y1, Y2
	VADDPS vconst<>+480(SB), Y2, Y2
	VMOVUPS vconst<>+480(SB), Y4
	VDIVPS Y2, Y4, Y2
	VMOVUPS vconst<>+544(SB), Y3
	VFMADD213PS vconst<>+576(SB), Y2, Y3
	VFMADD213PS vconst<>+608(SB), Y2, Y3
	VFMADD213PS vconst<>+640(SB), Y2, Y3
	VFMADD213PS vconst<>+672(SB), Y2, Y3
	VFMADD213PS vconst<>+704(SB), Y2, Y3
	VFMADD213PS vconst<>+736(SB), Y2, Y3
	VFMADD213PS vconst<>+768(SB), Y2, Y3
	VFMADD213PS vconst<>+800(SB), Y2, Y3
	VFMADD213PS vconst<>+832(SB), Y2, Y3
	VMULPS vconst<>+512(SB), Y1, Y4
	VFNMADD231PS Y4, Y1, Y3
	VCMPPS $1, Y13, Y3, Y5
	VMAXPS Y3, Y13, Y3
	VMINPS Y3, Y14, Y3
	VMULPS vconst<>+64(SB), Y3, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS vconst<>+96(SB), Y1, Y3
	VFNMADD231PS vconst<>+128(SB), Y1, Y3
	VMOVUPS vconst<>+160(SB), Y4
	VFMADD213PS vconst<>+192(SB), Y3, Y4
	VFMADD213PS vconst<>+224(SB), Y3, Y4
	VFMADD213PS vconst<>+256(SB), Y3, Y4
	VFMADD213PS vconst<>+288(SB), Y3, Y4
	VFMADD213PS vconst<>+320(SB), Y3, Y4
	VFMADD213PS vconst<>+352(SB), Y3, Y4
	VFMADD213PS vconst<>+352(SB), Y3, Y4
	VCVTPS2DQ Y1, Y1
	VPADDD vconst<>+384(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y4, Y3
	VANDNPS Y3, Y5, Y3
	VMULPS Y2, Y3, Y3
	VMULPS vconst<>+512(SB), Y3, Y3
	VMOVUPS vconst<>+352(SB), Y1
	VSUBPS Y3, Y1, Y1
	VBLENDVPS Y0, Y3, Y1, Y4
	VMULPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)
geludone:
	VZEROUPPER
	RET

// func biasGeluAVX2(dst, src, bias []float32)
TEXT ·biasGeluAVX2(SB), NOSPLIT, $0-72
	MOVQ dst_base+0(FP), DI
	MOVQ src_base+24(FP), SI
	MOVQ src_len+32(FP), CX
	MOVQ bias_base+48(FP), DX
	VMOVUPS vconst<>+0(SB), Y13
	VMOVUPS vconst<>+32(SB), Y14
bgeluloop16:
	CMPQ CX, $16
	JB bgelutail
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y6
	VADDPS (DX), Y0, Y0
	VADDPS 32(DX), Y6, Y6
	VANDPS vconst<>+416(SB), Y0, Y1
	VMULPS vconst<>+448(SB), Y1, Y2
	VADDPS vconst<>+480(SB), Y2, Y2
	VMOVUPS vconst<>+480(SB), Y4
	VDIVPS Y2, Y4, Y2
	VMOVUPS vconst<>+544(SB), Y3
	VFMADD213PS vconst<>+576(SB), Y2, Y3
	VFMADD213PS vconst<>+608(SB), Y2, Y3
	VFMADD213PS vconst<>+640(SB), Y2, Y3
	VFMADD213PS vconst<>+672(SB), Y2, Y3
	VFMADD213PS vconst<>+704(SB), Y2, Y3
	VFMADD213PS vconst<>+736(SB), Y2, Y3
	VFMADD213PS vconst<>+768(SB), Y2, Y3
	VFMADD213PS vconst<>+800(SB), Y2, Y3
	VFMADD213PS vconst<>+832(SB), Y2, Y3
	VMULPS vconst<>+512(SB), Y1, Y4
	VFNMADD231PS Y4, Y1, Y3
	VCMPPS $1, Y13, Y3, Y5
	VMAXPS Y3, Y13, Y3
	VMINPS Y3, Y14, Y3
	VMULPS vconst<>+64(SB), Y3, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS vconst<>+96(SB), Y1, Y3
	VFNMADD231PS vconst<>+128(SB), Y1, Y3
	VMOVUPS vconst<>+160(SB), Y4
	VFMADD213PS vconst<>+192(SB), Y3, Y4
	VFMADD213PS vconst<>+224(SB), Y3, Y4
	VFMADD213PS vconst<>+256(SB), Y3, Y4
	VFMADD213PS vconst<>+288(SB), Y3, Y4
	VFMADD213PS vconst<>+320(SB), Y3, Y4
	VFMADD213PS vconst<>+352(SB), Y3, Y4
	VFMADD213PS vconst<>+352(SB), Y3, Y4
	VCVTPS2DQ Y1, Y1
	VPADDD vconst<>+384(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y4, Y3
	VANDNPS Y3, Y5, Y3
	VMULPS Y2, Y3, Y3
	VMULPS vconst<>+512(SB), Y3, Y3
	VMOVUPS vconst<>+352(SB), Y1
	VSUBPS Y3, Y1, Y1
	VBLENDVPS Y0, Y3, Y1, Y4
	VMULPS Y4, Y0, Y0
	VANDPS vconst<>+416(SB), Y6, Y7
	VMULPS vconst<>+448(SB), Y7, Y8
	VADDPS vconst<>+480(SB), Y8, Y8
	VMOVUPS vconst<>+480(SB), Y10
	VDIVPS Y8, Y10, Y8
	VMOVUPS vconst<>+544(SB), Y9
	VFMADD213PS vconst<>+576(SB), Y8, Y9
	VFMADD213PS vconst<>+608(SB), Y8, Y9
	VFMADD213PS vconst<>+640(SB), Y8, Y9
	VFMADD213PS vconst<>+672(SB), Y8, Y9
	VFMADD213PS vconst<>+704(SB), Y8, Y9
	VFMADD213PS vconst<>+736(SB), Y8, Y9
	VFMADD213PS vconst<>+768(SB), Y8, Y9
	VFMADD213PS vconst<>+800(SB), Y8, Y9
	VFMADD213PS vconst<>+832(SB), Y8, Y9
	VMULPS vconst<>+512(SB), Y7, Y10
	VFNMADD231PS Y10, Y7, Y9
	VCMPPS $1, Y13, Y9, Y11
	VMAXPS Y9, Y13, Y9
	VMINPS Y9, Y14, Y9
	VMULPS vconst<>+64(SB), Y9, Y7
	VROUNDPS $0, Y7, Y7
	VFNMADD231PS vconst<>+96(SB), Y7, Y9
	VFNMADD231PS vconst<>+128(SB), Y7, Y9
	VMOVUPS vconst<>+160(SB), Y10
	VFMADD213PS vconst<>+192(SB), Y9, Y10
	VFMADD213PS vconst<>+224(SB), Y9, Y10
	VFMADD213PS vconst<>+256(SB), Y9, Y10
	VFMADD213PS vconst<>+288(SB), Y9, Y10
	VFMADD213PS vconst<>+320(SB), Y9, Y10
	VFMADD213PS vconst<>+352(SB), Y9, Y10
	VFMADD213PS vconst<>+352(SB), Y9, Y10
	VCVTPS2DQ Y7, Y7
	VPADDD vconst<>+384(SB), Y7, Y7
	VPSLLD $23, Y7, Y7
	VMULPS Y7, Y10, Y9
	VANDNPS Y9, Y11, Y9
	VMULPS Y8, Y9, Y9
	VMULPS vconst<>+512(SB), Y9, Y9
	VMOVUPS vconst<>+352(SB), Y7
	VSUBPS Y9, Y7, Y7
	VBLENDVPS Y6, Y9, Y7, Y10
	VMULPS Y10, Y6, Y6
	VMOVUPS Y0, (DI)
	VMOVUPS Y6, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $16, CX
	JMP bgeluloop16
bgelutail:
	CMPQ CX, $0
	JE bgeludone
	VMOVUPS (SI), Y0
	VADDPS (DX), Y0, Y0
	VANDPS vconst<>+416(SB), Y0, Y1
	VMULPS vconst<>+448(SB), Y1, Y2
	VADDPS vconst<>+480(SB), Y2, Y2
	VMOVUPS vconst<>+480(SB), Y4
	VDIVPS Y2, Y4, Y2
	VMOVUPS vconst<>+544(SB), Y3
	VFMADD213PS vconst<>+576(SB), Y2, Y3
	VFMADD213PS vconst<>+608(SB), Y2, Y3
	VFMADD213PS vconst<>+640(SB), Y2, Y3
	VFMADD213PS vconst<>+672(SB), Y2, Y3
	VFMADD213PS vconst<>+704(SB), Y2, Y3
	VFMADD213PS vconst<>+736(SB), Y2, Y3
	VFMADD213PS vconst<>+768(SB), Y2, Y3
	VFMADD213PS vconst<>+800(SB), Y2, Y3
	VFMADD213PS vconst<>+832(SB), Y2, Y3
	VMULPS vconst<>+512(SB), Y1, Y4
	VFNMADD231PS Y4, Y1, Y3
	VCMPPS $1, Y13, Y3, Y5
	VMAXPS Y3, Y13, Y3
	VMINPS Y3, Y14, Y3
	VMULPS vconst<>+64(SB), Y3, Y1
	VROUNDPS $0, Y1, Y1
	VFNMADD231PS vconst<>+96(SB), Y1, Y3
	VFNMADD231PS vconst<>+128(SB), Y1, Y3
	VMOVUPS vconst<>+160(SB), Y4
	VFMADD213PS vconst<>+192(SB), Y3, Y4
	VFMADD213PS vconst<>+224(SB), Y3, Y4
	VFMADD213PS vconst<>+256(SB), Y3, Y4
	VFMADD213PS vconst<>+288(SB), Y3, Y4
	VFMADD213PS vconst<>+320(SB), Y3, Y4
	VFMADD213PS vconst<>+352(SB), Y3, Y4
	VFMADD213PS vconst<>+352(SB), Y3, Y4
	VCVTPS2DQ Y1, Y1
	VPADDD vconst<>+384(SB), Y1, Y1
	VPSLLD $23, Y1, Y1
	VMULPS Y1, Y4, Y3
	VANDNPS Y3, Y5, Y3
	VMULPS Y2, Y3, Y3
	VMULPS vconst<>+512(SB), Y3, Y3
	VMOVUPS vconst<>+352(SB), Y1
	VSUBPS Y3, Y1, Y1
	VBLENDVPS Y0, Y3, Y1, Y4
	VMULPS Y4, Y0, Y0
	VMOVUPS Y0, (DI)
bgeludone:
	VZEROUPPER
	RET

// func sumAVX2(x []float32) float64
TEXT ·sumAVX2(SB), NOSPLIT, $0-32
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
sumloop:
	VMOVUPS (SI), Y0
	VCVTPS2PD X0, Y4
	VEXTRACTF128 $1, Y0, X5
	VCVTPS2PD X5, Y5
	VADDPD Y4, Y10, Y10
	VADDPD Y5, Y11, Y11
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ sumloop
	VADDPD Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X11
	VADDPD X11, X10, X10
	VPERMILPD $1, X10, X11
	VADDSD X11, X10, X10
	VMOVSD X10, ret+24(FP)
	VZEROUPPER
	RET

// func sumSqDevAVX2(x []float32, mhi, mlo float32) float64
TEXT ·sumSqDevAVX2(SB), NOSPLIT, $0-40
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VBROADCASTSS mhi+24(FP), Y12
	VBROADCASTSS mlo+28(FP), Y13
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
sqloop:
	VMOVUPS (SI), Y0
	VSUBPS Y12, Y0, Y0
	VSUBPS Y13, Y0, Y0
	VCVTPS2PD X0, Y4
	VEXTRACTF128 $1, Y0, X5
	VCVTPS2PD X5, Y5
	VFMADD231PD Y4, Y4, Y10
	VFMADD231PD Y5, Y5, Y11
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ sqloop
	VADDPD Y11, Y10, Y10
	VEXTRACTF128 $1, Y10, X11
	VADDPD X11, X10, X10
	VPERMILPD $1, X10, X11
	VADDSD X11, X10, X10
	VMOVSD X10, ret+32(FP)
	VZEROUPPER
	RET

// func normAVX2(dst, x, w, b []float32, mhi, mlo, r float32)
TEXT ·normAVX2(SB), NOSPLIT, $0-108
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ w_base+48(FP), DX
	MOVQ b_base+72(FP), R8
	VBROADCASTSS mhi+96(FP), Y12
	VBROADCASTSS mlo+100(FP), Y13
	VBROADCASTSS r+104(FP), Y14
normloop:
	VMOVUPS (SI), Y0
	VSUBPS Y12, Y0, Y0
	VSUBPS Y13, Y0, Y0
	VMULPS Y14, Y0, Y0
	VMOVUPS (R8), Y1
	VFMADD231PS (DX), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, DX
	ADDQ $32, R8
	SUBQ $8, CX
	JNZ normloop
	VZEROUPPER
	RET

// func blendAVX2(dst, a, b []float32, wa, wb float32)
TEXT ·blendAVX2(SB), NOSPLIT, $0-80
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ a_base+24(FP), SI
	MOVQ b_base+48(FP), DX
	VBROADCASTSS wa+72(FP), Y12
	VBROADCASTSS wb+76(FP), Y13
blendloop:
	VMULPS (DX), Y13, Y0
	VFMADD231PS (SI), Y12, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ blendloop
	VZEROUPPER
	RET

// func addToF64AVX2(acc []float64, x []float32)
TEXT ·addToF64AVX2(SB), NOSPLIT, $0-48
	MOVQ acc_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
addf64loop:
	VMOVUPS (SI), Y0
	VCVTPS2PD X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD X2, Y2
	VADDPD (DI), Y1, Y1
	VADDPD 32(DI), Y2, Y2
	VMOVUPD Y1, (DI)
	VMOVUPD Y2, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $8, CX
	JNZ addf64loop
	VZEROUPPER
	RET

// func addSqDevF64AVX2(acc []float64, x []float32, mean []float64)
TEXT ·addSqDevF64AVX2(SB), NOSPLIT, $0-72
	MOVQ acc_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ mean_base+48(FP), DX
sqdevloop:
	VMOVUPS (SI), Y0
	VCVTPS2PD X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD X2, Y2
	VSUBPD (DX), Y1, Y1
	VSUBPD 32(DX), Y2, Y2
	VMOVUPD (DI), Y3
	VMOVUPD 32(DI), Y4
	VFMADD231PD Y1, Y1, Y3
	VFMADD231PD Y2, Y2, Y4
	VMOVUPD Y3, (DI)
	VMOVUPD Y4, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $8, CX
	JNZ sqdevloop
	VZEROUPPER
	RET

// func normColsAVX2(dst, x []float32, mean, rstd []float64, w, b float32)
TEXT ·normColsAVX2(SB), NOSPLIT, $0-104
	MOVQ dst_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ mean_base+48(FP), DX
	MOVQ rstd_base+72(FP), R8
	VBROADCASTSS w+96(FP), X14
	VCVTPS2PD X14, Y14
	VBROADCASTSS b+100(FP), X15
	VCVTPS2PD X15, Y15
normcolsloop:
	VMOVUPS (SI), Y0
	VCVTPS2PD X0, Y1
	VEXTRACTF128 $1, Y0, X2
	VCVTPS2PD X2, Y2
	VSUBPD (DX), Y1, Y1
	VSUBPD 32(DX), Y2, Y2
	VMULPD (R8), Y1, Y1
	VMULPD 32(R8), Y2, Y2
	VFMADD213PD Y15, Y14, Y1
	VFMADD213PD Y15, Y14, Y2
	VCVTPD2PSY Y1, X1
	VCVTPD2PSY Y2, X2
	VINSERTF128 $1, X2, Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $64, DX
	ADDQ $64, R8
	SUBQ $8, CX
	JNZ normcolsloop
	VZEROUPPER
	RET
