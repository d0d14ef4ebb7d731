/*
 * bench_edge.h - the parts of bench_edge (one program, several measurements).
 */
#ifndef CEDGE_BENCH_EDGE_H
#define CEDGE_BENCH_EDGE_H

/* MetaServer GET/LIST latency over loopback HTTP (bench_metaserver.c). */
int bench_metaserver(void);

/* VmRSS/VmHWM of the real edgecore binary, idle and with objects stored
 * (bench_rss.c). */
int bench_rss(void);

#endif
