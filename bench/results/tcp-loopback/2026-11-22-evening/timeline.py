# Usage: timeline.py PERF_SCRIPT_TEXT (perf script -F comm,pid,tid,cpu,time,event,trace of sched_switch/wakeup/waking):
# run time per thread, then each stretch of >0.5 ms one thread ran and what the other CPU ran meanwhile (2 CPUs).
import re,sys,collections
ev=[]
for line in open(sys.argv[1]):
    m=re.match(r"\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)",line)
    if not m: continue
    comm,pid,tid,cpu,t,e,rest=m.groups()
    ev.append((float(t),int(cpu),e,comm,int(pid),int(tid),rest))
run={}  # cpu -> (tid, comm, since)
intervals=collections.defaultdict(list) # cpu -> list(start,end,tid,comm)
pidof={}
for t,cpu,e,comm,pid,tid,rest in ev:
    pidof[tid]=(pid,comm)
    if e=="sched_switch":
        m=re.search(r"prev_comm=(.*?) prev_pid=(\d+).*next_comm=(.*?) next_pid=(\d+)",rest)
        if cpu in run:
            s=run[cpu]; intervals[cpu].append((s[2],t,s[0],s[1]))
        run[cpu]=(int(m.group(4)),m.group(3),t)
tot=collections.defaultdict(float)
for cpu,iv in intervals.items():
    for s,e,tid,c in iv: tot[(tid,c)]+=e-s
for (tid,c),v in sorted(tot.items(),key=lambda x:-x[1])[:12]:
    print(f"{tid:7d} {pidof.get(tid,('?',''))[0]!s:>7} {c:16s} {v*1000:8.1f} ms")
# long runs
print("runs > 0.5ms:")
allv=[(s,e,cpu,tid,c) for cpu,iv in intervals.items() for s,e,tid,c in iv]
allv.sort()
for s,e,cpu,tid,c in allv:
    if e-s>0.0005 and c!='swapper/0' and c!='swapper/1':
        other=[(max(s,s2),min(e,e2),t2,c2) for s2,e2,cpu2,t2,c2 in allv if cpu2!=cpu and e2>s and s2<e]
        o=collections.defaultdict(float)
        for a,b,t2,c2 in other: o[(t2,c2)]+=b-a
        print(f"cpu{cpu} {tid} {c} {1e6*(e-s):.0f}us  other cpu: "+", ".join(f"{t2}:{c2}:{v*1e6:.0f}us" for (t2,c2),v in sorted(o.items(),key=lambda x:-x[1])[:4]))
