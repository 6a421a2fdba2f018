# Usage: window.py TRACE TID N: prints the trace events around the N-th stretch of >0.8 ms that TID ran.
import re,sys
lines=open(sys.argv[1]).read().splitlines()
ev=[]
for line in lines:
    m=re.match(r"\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+sched:(\w+):\s+(.*)",line)
    if m: ev.append((float(m.group(5)),int(m.group(4)),line))
tid=sys.argv[2]; n=int(sys.argv[3])
# find switches where tid goes in and stays > 0.8ms
cur={}
found=0
for i,(t,cpu,l) in enumerate(ev):
    if 'sched_switch' in l and f'next_pid={tid} ' in l+' ':
        cur[cpu]=(t,i)
    elif 'sched_switch' in l and f'prev_pid={tid} ' in l and cpu in cur:
        s,j=cur.pop(cpu)
        if t-s>0.0008:
            found+=1
            if found==n:
                for k in range(max(0,j-12),i+3): print(ev[k][2][:230])
                break
